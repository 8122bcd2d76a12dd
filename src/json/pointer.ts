// JSON pointers (RFC 6901) as the validators and the source positions read them: the one place that
// splits a pointer such as "/spec/containers/0/image" into its unescaped segments.

/** The unescaped segments of `pointer` ("" is the whole document, so no segment). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}
