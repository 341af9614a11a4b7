// Google's encoded polyline format (precision 5 by default): what the API's
// per-leg `polyline` field will carry. Decodes to [lon, lat] pairs (GeoJSON order).

export type LonLat = [number, number];

/** Decode an encoded polyline; throws on a truncated string. */
export function decodePolyline(encoded: string, precision = 5): LonLat[] {
  const factor = 10 ** precision;
  const points: LonLat[] = [];
  let index = 0;
  let lat = 0;
  let lon = 0;
  const next = (): number => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      if (index >= encoded.length) throw new Error("truncated polyline");
      byte = encoded.charCodeAt(index++) - 63;
      result |= (byte & 0x1f) << shift;
      shift += 5;
    } while (byte >= 0x20);
    return result & 1 ? ~(result >> 1) : result >> 1;
  };
  while (index < encoded.length) {
    lat += next();
    lon += next();
    points.push([lon / factor, lat / factor]);
  }
  return points;
}

/** Encode [lon, lat] pairs (tests and fixtures). */
export function encodePolyline(points: readonly LonLat[], precision = 5): string {
  const factor = 10 ** precision;
  let out = "";
  let lastLat = 0;
  let lastLon = 0;
  const put = (delta: number): void => {
    let value = delta < 0 ? ~(delta << 1) : delta << 1;
    while (value >= 0x20) {
      out += String.fromCharCode((0x20 | (value & 0x1f)) + 63);
      value >>= 5;
    }
    out += String.fromCharCode(value + 63);
  };
  for (const [lon, lat] of points) {
    const ilat = Math.round(lat * factor);
    const ilon = Math.round(lon * factor);
    put(ilat - lastLat);
    put(ilon - lastLon);
    lastLat = ilat;
    lastLon = ilon;
  }
  return out;
}
