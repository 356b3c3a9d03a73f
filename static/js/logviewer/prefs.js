// The reader's preferences (wrap, timestamps), kept in localStorage; blocked storage keeps the
// defaults for this visit.
const KEYS = { wrap: "logviewer.wrap", timestamps: "logviewer.timestamps" };

export function readPref(name, fallback) {
  try {
    const value = localStorage.getItem(KEYS[name]);
    return value === null ? fallback : value === "1";
  } catch (error) {
    return fallback;
  }
}

export function savePref(name, on) {
  try {
    localStorage.setItem(KEYS[name], on ? "1" : "0");
  } catch (error) {
    // Storage blocked: the choice holds until the page is left.
  }
}

// Apply a preference to the viewer: a class that hides or unwraps, and the toggle's pressed state.
export function applyPref(viewer, name, on) {
  viewer.classList.toggle("logviewer-no-" + name, !on);
  const button = viewer.querySelector('[data-toggle="' + name + '"]');
  if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
}
