const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A payload as a test wants to see it: parsed JSON when it is JSON, the text when it is UTF-8,
 * the bytes otherwise.
 */
export function decodePayload(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return bytes;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A short one-line rendering of a decoded payload for failure messages. */
export function preview(value: unknown, max = 120): string {
  let text: string;
  if (value instanceof Uint8Array) text = `<${value.length} bytes>`;
  else if (typeof value === 'string') text = JSON.stringify(value);
  else if (value instanceof RegExp) text = String(value);
  else {
    try {
      text = JSON.stringify(value, (_key, v) => (v instanceof RegExp ? String(v) : v)) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
