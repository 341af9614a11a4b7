import { describe, expect, it } from "vitest";
import { HEADING_ZOOM, NAMES_ZOOM, visibleMarks, type RiderMark } from "./riderMarkers";

const rider: RiderMark = { id: "a", name: "Rider a", colour: "#123456", stale: false, highlight: false, heading: 90 };

describe("visibleMarks", () => {
  it("shows only the dot at city zoom for a rider without a box or selection", () => {
    expect(visibleMarks(rider, HEADING_ZOOM - 1)).toEqual({ heading: null, temp: null, name: null });
  });

  it("keeps a temperature and the selected rider's name at any zoom", () => {
    expect(visibleMarks({ ...rider, temp: "11.0°", warm: true }, 10).temp).toBe("11.0°");
    expect(visibleMarks({ ...rider, highlight: true }, 10).name).toBe("Rider a");
  });

  it("adds the heading arrow from street zoom and every name closer in", () => {
    expect(visibleMarks(rider, HEADING_ZOOM)).toEqual({ heading: 90, temp: null, name: null });
    expect(visibleMarks(rider, NAMES_ZOOM)).toEqual({ heading: 90, temp: null, name: "Rider a" });
    expect(visibleMarks({ ...rider, heading: undefined }, NAMES_ZOOM).heading).toBeNull();
  });
});
