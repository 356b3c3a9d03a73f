// Colours a class cannot name (256-colour and truecolor spans carry data-fg / data-bg) are painted
// here through the CSSOM, which CSP allows where style attributes are not; like xterm's
// minimum-contrast setting, a painted colour is moved towards white or black until it reads at
// 4.5:1 against every background a row can have (app.css, .logviewer row states).
const HEX = /^#[0-9a-f]{6}$/;
const MINIMUM = 4.5;
// Keep in step with app.css: the log's background and its rows' hover, error, match, current match,
// selected and focused backgrounds.
export const ROW_BACKGROUNDS = ["#0d1117", "#151b23", "#2a1619", "#132339", "#1c3a63", "#2b2410", "#161f2c"].map(parse);

function parse(value) {
  if (HEX.test(value)) return [1, 3, 5].map((at) => parseInt(value.slice(at, at + 2), 16));
  const match = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(value || "");
  return match ? match.slice(1, 4).map(Number) : null;
}

function luminance(rgb) {
  const [red, green, blue] = rgb.map((channel) => {
    const value = channel / 255;
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * red + 0.7152 * green + 0.0722 * blue;
}

export function contrast(one, other) {
  const [light, dark] = [luminance(one), luminance(other)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}

function mix(rgb, target, share) {
  return rgb.map((channel, index) => Math.round(channel + (target[index] - channel) * share));
}

function css(rgb) {
  return "rgb(" + rgb.join(", ") + ")";
}

// The colour nearest to `rgb` that reads at MINIMUM against each of `backgrounds`: lighter on dark
// backgrounds, darker on light ones.
export function readable(rgb, backgrounds) {
  const worst = (colour) => Math.min(...backgrounds.map((background) => contrast(colour, background)));
  if (worst(rgb) >= MINIMUM) return rgb;
  const dark = backgrounds.every((background) => luminance(background) < 0.18);
  const target = dark ? [255, 255, 255] : [0, 0, 0];
  for (let share = 0.1; share < 1; share += 0.1) {
    const moved = mix(rgb, target, share);
    if (worst(moved) >= MINIMUM) return moved;
  }
  return target;
}

// Paint the exact colours of `root`'s spans, and make every span with a background of its own
// readable (a class pair such as red on red is the log's choice, but it must still be legible).
// Answers the spans that have a background, for fixBackgrounds once they are in the page.
export function paint(root) {
  const backed = [];
  root.querySelectorAll("[data-fg],[data-bg],[class*='ansi-bg-']").forEach((span) => {
    if (span.dataset.bg || span.className.includes("ansi-bg-")) backed.push(span);
    const background = parse(span.dataset.bg || "");
    if (background) span.style.backgroundColor = css(background);
    const foreground = parse(span.dataset.fg || "");
    if (foreground && !background && !span.className.includes("ansi-bg-")) {
      span.style.color = css(readable(foreground, ROW_BACKGROUNDS));
    } else if (foreground) {
      span.style.color = css(foreground);
    }
  });
  return backed;
}

// Spans with a background are checked once they are in the page (the computed colours are known
// only then): few lines have them. All styles are read before any is written.
export function fixBackgrounds(spans) {
  const fixes = [];
  spans.forEach((span) => {
    const style = getComputedStyle(span);
    const foreground = parse(style.color);
    const background = parse(style.backgroundColor);
    if (!foreground || !background) return;
    const fixed = readable(foreground, [background]);
    if (fixed !== foreground) fixes.push([span, css(fixed)]);
  });
  fixes.forEach(([span, colour]) => (span.style.color = colour));
}
