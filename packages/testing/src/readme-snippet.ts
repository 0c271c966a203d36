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

/**
 * The option names a README lists as URL parameters: the backticked names after
 * `URL parameters:` up to the next `;` or table cell. Throws when the README has no such list.
 */
export function readmeUrlParameters(markdown: string): string[] {
  const at = markdown.indexOf('URL parameters:');
  if (at === -1) throw new Error('the README has no "URL parameters:" list');
  const list = markdown.slice(at).split(/[;|]/, 1)[0] as string;
  return [...list.matchAll(/`([A-Za-z]+)(?:=[^`]*)?`/g)].map((m) => m[1] as string);
}

/**
 * The backticked names in the second cell of the table row that starts with `` | `<scheme>` ``
 * (the factory README's URL-parameter table). Throws when there is no such row.
 */
export function readmeSchemeRow(markdown: string, scheme: string): string[] {
  const row = markdown.split('\n').find((line) => line.startsWith(`| \`${scheme}\``));
  if (row === undefined) throw new Error(`the README has no row for ${scheme}`);
  const cell = row.split('|')[2] as string;
  return [...cell.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1] as string);
}
