/** Commander's collector for a repeatable option (`--key a --key b`); variadic options would swallow positional arguments. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
