// Dates, times and names as people read them, in the browser's own locale and time zone
// (the server sends milliseconds since the epoch, UTC).

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const dayYearFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  month: "long",
  day: "numeric",
  year: "numeric",
});

export const time = (ts) => timeFormat.format(new Date(ts));

/**
 * The time without "AM"/"PM": "10:47" where `time` says "10:47 PM". For the narrow gutter of
 * a continuation message, next to its group's first message, which shows the full time.
 */
export function shortTime(ts) {
  const parts = timeFormat.formatToParts(new Date(ts)).filter((part) => part.type !== "dayPeriod");
  return parts
    .map((part) => part.value)
    .join("")
    .trim();
}
export const fullTime = (ts) => fullFormat.format(new Date(ts));

function dayStart(ts) {
  const date = new Date(ts);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

export const sameDay = (a, b) => dayStart(a) === dayStart(b);

/** "Today", "Yesterday", "Monday, November 24" (with the year when it is not this year). */
export function dayLabel(ts) {
  const today = dayStart(Date.now());
  const day = dayStart(ts);
  if (day === today) return "Today";
  // Not 86,400,000 ms: a day around a daylight-saving change is 23 or 25 hours long.
  const yesterday = new Date(today);
  yesterday.setDate(yesterday.getDate() - 1);
  if (day === yesterday.getTime()) return "Yesterday";
  const sameYear = new Date(ts).getFullYear() === new Date().getFullYear();
  return (sameYear ? dayFormat : dayYearFormat).format(new Date(ts));
}

/** A stable colour (one of 8 CSS classes) for a user's avatar. */
export function hue(name) {
  let hash = 0;
  for (const char of String(name).toLowerCase()) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return `hue-${hash % 8}`;
}

export function initial(name) {
  const first = String(name).match(/[\p{L}\p{N}]/u);
  return first ? first[0].toUpperCase() : "?";
}

/** "alice is typing…", "alice and bob are typing…", "3 people are typing…" */
export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

const SIZE_UNITS = ["kB", "MB", "GB", "TB"];

/** A size in bytes as people read it: "512 bytes", "1.4 MB", "25 MB" (1 MB = 1,000,000 bytes,
 *  as file managers show them), in the browser's own locale ("1,4 MB" in French). */
export function fileSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1000) return n === 1 ? "1 byte" : `${n} bytes`;
  let value = n;
  let unit = -1;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = value < 10 ? 1 : 0;
  return `${value.toLocaleString(undefined, { maximumFractionDigits: digits })} ${SIZE_UNITS[unit]}`;
}
