// Hand-off to a navigation app: plain links the rider taps (geo: for Android's
// chooser, Google Maps, Apple Maps, Waze). Nothing is fetched from them: the
// page leaves the origin only when the rider follows one.

export interface NavLink {
  app: "geo" | "google" | "apple" | "waze";
  label: string;
  href: string;
}

const coord = (value: number): string => {
  if (!Number.isFinite(value)) throw new Error("coordinate is not a number");
  return value.toFixed(6).replace(/\.?0+$/, "");
};

/** The four links to drive to (lat, lon). */
export function navigationLinks(lat: number, lon: number): NavLink[] {
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) throw new Error("coordinates out of range");
  const at = `${coord(lat)},${coord(lon)}`;
  const q = encodeURIComponent(at);
  return [
    { app: "geo", label: "Maps", href: `geo:${at}?q=${q}` },
    { app: "google", label: "Google", href: `https://www.google.com/maps/dir/?api=1&destination=${q}&travelmode=driving` },
    { app: "apple", label: "Apple", href: `https://maps.apple.com/?daddr=${q}&dirflg=d` },
    { app: "waze", label: "Waze", href: `https://waze.com/ul?ll=${q}&navigate=yes` },
  ];
}
