/**
 * The ```ts block that follows `<!-- snippet:<name> … -->` in a README's markdown — how this
 * repository's tests run the snippets a README shows. Throws when the marker or the block is missing.
 */
export function readmeSnippet(markdown: string, name: string): string {
  const marker = markdown.indexOf(`<!-- snippet:${name}`);
  if (marker === -1) throw new Error(`the README has no snippet "${name}"`);
  const match = /```ts\n([\s\S]*?)```/.exec(markdown.slice(marker));
  if (!match) throw new Error(`the README has no ts block after snippet "${name}"`);
  return match[1] as string;
}
