// The recipient's signature as a small SVG (one path of integer points): the
// API stores it as vector data, well under its size limit, never as a photo.

export type Stroke = readonly (readonly [number, number])[];

/** The SVG of the strokes on a width x height pad; null when nothing was drawn. */
export function signatureSvg(strokes: readonly Stroke[], width: number, height: number): string | null {
  const parts: string[] = [];
  let points = 0;
  for (const stroke of strokes) {
    if (stroke.length === 0) continue;
    const [first, ...rest] = stroke.map(([x, y]) => `${Math.round(x)} ${Math.round(y)}`);
    parts.push(rest.length ? `M${first}L${rest.join(" ")}` : `M${first}l0 0`);
    points += stroke.length;
  }
  if (points < 2) return null;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${Math.round(width)} ${Math.round(height)}">` +
    `<path d="${parts.join("")}" fill="none" stroke="#000" stroke-width="2"/></svg>`;
  return svg.length <= 20_000 ? svg : null;
}
