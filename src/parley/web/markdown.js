// A message's text as a tree of formatting (pure: no DOM, no I/O; richtext.js draws the tree).
//
// The subset of CommonMark people use in chat, and nothing more:
//   blocks:  paragraphs (a line feed inside one is a line break), fenced code blocks with a
//            language label (``` or ~~~, unclosed runs to the end), block quotes (>), bulleted
//            (- * +) and numbered (1. 1)) lists, nested by indentation;
//   inline:  **bold**, *italic* / _italic_, ~~strike~~, `code` (CommonMark's backtick rule),
//            [text](url) with http, https and mailto only, bare http(s) URLs, backslash
//            escapes, @mentions (only the names the server resolved) and #room links.
// No HTML: "<b>" is four characters of text. Anything else (headings, tables, images,
// reference links) is shown as the characters typed.
//
// Linear time by construction, for any input (a message is at most 4,000 characters, but the
// parser does not rely on it): every loop moves forward; nothing is searched twice. The three
// places a naive parser goes quadratic are handled explicitly:
//   * a code span's closer is found through a table of backtick runs by length, each with a
//     cursor that only moves forward (an opener without a closer costs nothing more);
//   * an unclosed emphasis or bracket is undone by moving its children into its parent, and
//     at most MAX_OPEN of them are open at once, so a child moves at most MAX_OPEN times;
//   * a link's URL ends at the next space or ")", read from a table computed once.
// Block nesting (quotes, lists) is limited to MAX_DEPTH; deeper markers are text. No regular
// expression here can backtrack: each is anchored and matches a bounded or single-class run.
//
// `stats.steps`, when given, counts the parser's unit steps: the browser tests check that it
// grows in proportion to the input for hostile texts (no wall clock in tests).

/** Quotes and lists nested deeper than this are shown as their markers (text). */
export const MAX_DEPTH = 8;
/** Emphasis and link brackets open at once; more are text. Bounds the cost of undoing them. */
export const MAX_OPEN = 32;
/** A link's URL longer than this is not a link (the text stays as typed). */
export const MAX_URL = 2048;

const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);
// A bare URL, as people type it in a sentence (the same characters the server's clients stop at).
const BARE_URL = /https?:\/\/[^\s<>"'`]+/iy;
// Inside a link's text, "]" ends the text, so it ends a URL too ([https://x.org](https://x.org)).
const BARE_URL_IN_BRACKETS = /https?:\/\/[^\s<>"'`\]]+/iy;
const URL_TRAILING = ".,;:!?*_~'\"";
// Characters that cannot precede a mention's "@" (protocol/mentions.py's _NOT_BEFORE) or a
// room's "#": a word's characters and what joins addresses, paths and URLs.
const NOT_BEFORE_MARK = /[\p{L}\p{N}_.+\-@/\\:=&%#~`]/u;
const ASCII_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
// The characters where inline parsing has something to decide; all others are plain text.
const SPECIAL = new Set(["\\", "`", "*", "_", "~", "[", "]", "@", "#", "h", "H"]);

const isSpace = (char) => char === undefined || char === " " || char === "\t" || char === "\n";
const isAlnum = (char) => char !== undefined && /[\p{L}\p{N}]/u.test(char);
const isNameChar = (char) => char !== undefined && /[A-Za-z0-9_.-]/.test(char);
const isRoomChar = (char) => char !== undefined && /[A-Za-z0-9_-]/.test(char);

/**
 * The checked target of a link, or null: http(s) with a host, or mailto with an address.
 * Everything else (javascript:, data:, relative paths, protocol-relative //host) is refused.
 */
export function safeUrl(raw) {
  if (raw.length > MAX_URL) return null;
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (!LINK_SCHEMES.has(url.protocol)) return null;
  if (url.protocol === "mailto:") return url.pathname.includes("@") ? url.href : null;
  return url.hostname ? url.href : null;
}

/**
 * Drop a bare URL's trailing punctuation ("see https://x.org/a." ends before the dot) but keep
 * a closing bracket that belongs to it (https://en.wikipedia.org/wiki/Foo_(bar)). One pass
 * to count the brackets, then one step per character dropped.
 */
export function trimUrl(url) {
  let open = 0;
  let close = 0;
  let squareOpen = 0;
  let squareClose = 0;
  for (const char of url) {
    if (char === "(") open += 1;
    else if (char === ")") close += 1;
    else if (char === "[") squareOpen += 1;
    else if (char === "]") squareClose += 1;
  }
  let end = url.length;
  for (;;) {
    const last = url[end - 1];
    if (URL_TRAILING.includes(last)) end -= 1;
    else if (last === ")" && open < close) (end -= 1), (close -= 1);
    else if (last === "]" && squareOpen < squareClose) (end -= 1), (squareClose -= 1);
    else return url.slice(0, end);
  }
}

/**
 * Parse a message. `options.mentions`: the names the server resolved (the event's `mentions`,
 * "@room" included); only those become mentions. Returns `{t: "root", c: [blocks]}`; see the
 * node shapes in richtext.js.
 */
export function parse(text, { mentions = [], stats = null } = {}) {
  const ctx = {
    mentions: new Set(mentions.map((name) => name.replace(/^@/, "").toLowerCase())),
    stats: stats || { steps: 0 },
  };
  const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
  ctx.stats.steps += lines.length;
  return { t: "root", c: parseBlocks(lines, 0, ctx) };
}

// -- blocks ---------------------------------------------------------------------------------

const isBlank = (line) => line.trim() === "";

/** Spaces at the start of a line (tabs count as they look: up to the next multiple of 4). */
function indentOf(line) {
  let width = 0;
  for (const char of line) {
    if (char === " ") width += 1;
    else if (char === "\t") width += 4 - (width % 4);
    else break;
  }
  return width;
}

/** The line without its first `width` columns of indentation (what is there of them). */
function dedent(line, width) {
  let col = 0;
  let i = 0;
  while (i < line.length && col < width) {
    if (line[i] === " ") col += 1;
    else if (line[i] === "\t") col += 4 - (col % 4);
    else break;
    i += 1;
  }
  return line.slice(i);
}

/** An opening fence: {char, size, lang}, or null. */
function fenceOf(line) {
  if (indentOf(line) > 3) return null;
  const body = line.trimStart();
  const char = body[0];
  if (char !== "`" && char !== "~") return null;
  let size = 0;
  while (body[size] === char) size += 1;
  if (size < 3) return null;
  const info = body.slice(size).trim();
  if (char === "`" && info.includes("`")) return null; // CommonMark: that is inline code
  const label = info.split(/[ \t]/, 1)[0];
  return { char, size, lang: /^[A-Za-z0-9_+#.-]{1,32}$/.test(label) ? label : "" };
}

function closesFence(line, fence) {
  if (indentOf(line) > 3) return false;
  const body = line.trim();
  if (body.length < fence.size) return false;
  for (const char of body) if (char !== fence.char) return false;
  return true;
}

// "- item", "* item", "+ item", "1. item", "1) item": marker, then a space or the line's end.
// Anchored, with bounded or disjoint repeats: no backtracking.
const LIST_ITEM = /^( {0,3})([-+*]|[0-9]{1,9}[.)])( {1,4}|$)/;

/** A list item's start: {ordered, marker, start, width (where its text begins)}, or null. */
function listItemOf(line) {
  const match = LIST_ITEM.exec(line);
  if (!match) return null;
  const [whole, , marker] = match;
  const ordered = marker.length > 1 || /[0-9]/.test(marker);
  return {
    ordered,
    kind: ordered ? marker.at(-1) : marker,
    start: ordered ? Number(marker.slice(0, -1)) : 1,
    width: match[3] === "" ? whole.length + 1 : whole.length,
  };
}

function quoteOf(line) {
  return indentOf(line) <= 3 && line.trimStart()[0] === ">";
}

function unquote(line) {
  const body = line.trimStart().slice(1);
  return body[0] === " " ? body.slice(1) : body;
}

function parseBlocks(lines, depth, ctx) {
  const blocks = [];
  let i = 0;
  const nested = depth < MAX_DEPTH;
  while (i < lines.length) {
    ctx.stats.steps += 1;
    const line = lines[i];
    if (isBlank(line)) {
      i += 1;
      continue;
    }
    const fence = fenceOf(line);
    if (fence) {
      const indent = indentOf(line);
      const body = [];
      i += 1;
      while (i < lines.length && !closesFence(lines[i], fence)) {
        body.push(dedent(lines[i], indent));
        i += 1;
      }
      ctx.stats.steps += body.length;
      i += 1; // the closing fence (or past the end)
      blocks.push({ t: "pre", lang: fence.lang, text: body.join("\n") });
      continue;
    }
    if (nested && quoteOf(line)) {
      const inner = [];
      while (i < lines.length && quoteOf(lines[i])) {
        inner.push(unquote(lines[i]));
        i += 1;
      }
      ctx.stats.steps += inner.length;
      blocks.push({ t: "quote", c: parseBlocks(inner, depth + 1, ctx) });
      continue;
    }
    const item = nested ? listItemOf(line) : null;
    if (item) {
      i = parseList(lines, i, item, depth, ctx, blocks);
      continue;
    }
    // A paragraph: up to a blank line or the start of another block.
    const para = [line];
    i += 1;
    while (
      i < lines.length &&
      !isBlank(lines[i]) &&
      !fenceOf(lines[i]) &&
      !(nested && (quoteOf(lines[i]) || listItemOf(lines[i])))
    ) {
      para.push(lines[i]);
      i += 1;
    }
    ctx.stats.steps += para.length;
    blocks.push({ t: "p", c: parseInline(para.join("\n"), ctx) });
  }
  return blocks;
}

/** A list from line `i` (its first item); pushes it to `blocks`, returns the next line. */
function parseList(lines, i, first, depth, ctx, blocks) {
  const list = { t: "list", ordered: first.ordered, start: first.start, items: [] };
  let item = first;
  while (item) {
    const body = [lines[i].slice(item.width)];
    i += 1;
    // The item goes on over lines indented to its text, and over blank lines between them.
    while (i < lines.length) {
      ctx.stats.steps += 1;
      const line = lines[i];
      if (isBlank(line)) {
        let next = i + 1;
        while (next < lines.length && isBlank(lines[next])) next += 1;
        if (next < lines.length && indentOf(lines[next]) >= item.width) {
          for (; i < next; i += 1) body.push("");
          continue;
        }
        break;
      }
      if (indentOf(line) >= item.width) body.push(dedent(line, item.width));
      else if (listItemOf(line) || quoteOf(line) || fenceOf(line)) break;
      else body.push(line); // a lazy continuation of the item's paragraph
      i += 1;
    }
    list.items.push(parseBlocks(body, depth + 1, ctx));
    // The next item of the same list, after at most blank lines.
    let next = i;
    while (next < lines.length && isBlank(lines[next])) next += 1;
    const following = next < lines.length ? listItemOf(lines[next]) : null;
    if (following && following.ordered === first.ordered && following.kind === first.kind) {
      i = next;
      item = following;
    } else item = null;
  }
  blocks.push(list);
  return i;
}

// -- inline ---------------------------------------------------------------------------------

/**
 * The positions of each length of backtick run, so that a code span's closer is found by a
 * cursor that only moves forward: `closer(at, size)` → the next run of exactly `size` after
 * `at`, or -1.
 */
function backtickRuns(s, ctx) {
  const byLength = new Map();
  for (let i = 0; i < s.length; ) {
    if (s[i] !== "`") {
      i = s.indexOf("`", i);
      if (i === -1) break;
      continue;
    }
    let end = i;
    while (s[end] === "`") end += 1;
    const size = end - i;
    if (!byLength.has(size)) byLength.set(size, { at: [], cursor: 0 });
    byLength.get(size).at.push(i);
    ctx.stats.steps += size;
    i = end;
  }
  return (at, size) => {
    const runs = byLength.get(size);
    if (!runs) return -1;
    while (runs.cursor < runs.at.length && runs.at[runs.cursor] <= at) {
      runs.cursor += 1;
      ctx.stats.steps += 1;
    }
    return runs.cursor < runs.at.length ? runs.at[runs.cursor] : -1;
  };
}

/** For each index, the index of the next space or ")" at or after it (a link's URL end). */
function urlStops(s, ctx) {
  const stops = new Int32Array(s.length + 1);
  stops[s.length] = s.length;
  for (let i = s.length - 1; i >= 0; i -= 1) {
    const char = s[i];
    stops[i] = char === ")" || isSpace(char) ? i : stops[i + 1];
  }
  ctx.stats.steps += s.length;
  return stops;
}

// Emphasis delimiters: the character and run length → the node it makes.
const DELIMITERS = { "*": "em", "**": "strong", _: "em", __: "strong", "~~": "del" };

/**
 * Inline formatting of one paragraph. A stack of open frames (emphasis or "[") collects the
 * nodes since each opener; a closer turns its frame into a node, and frames above it (opened
 * but never closed) are undone: their marker goes back as text, their children to the frame
 * below. What is still open at the end is undone the same way.
 */
function parseInline(s, ctx) {
  const root = { key: "", c: [] };
  const stack = [root];
  const open = new Map(); // key → frames with it on the stack
  const isOpen = (key) => (open.get(key) || 0) > 0;
  let codeCloser = null;
  let stops = null;
  let textStart = 0;
  let p = 0;
  const top = () => stack[stack.length - 1];

  const flush = (until) => {
    if (until > textStart) top().c.push(s.slice(textStart, until));
    textStart = until;
  };
  const push = (node, next) => {
    flush(p);
    top().c.push(node);
    p = next;
    textStart = next;
  };
  const undo = (frames, into) => {
    // Openers without a closer (off the stack, outermost first): each marker is text again,
    // and the children follow it into `into`, all of them in one pass.
    for (const frame of frames) {
      open.set(frame.key, open.get(frame.key) - 1);
      into.push(frame.marker);
      for (const child of frame.c) into.push(child);
      ctx.stats.steps += frame.c.length + 1;
    }
  };
  const popTo = (key) => {
    // Take the nearest `key` frame off the stack, with the frames above it undone into it.
    let at = stack.length - 1;
    while (stack[at].key !== key) at -= 1;
    const frame = stack[at];
    undo(stack.splice(at + 1), frame.c);
    stack.pop();
    open.set(key, open.get(key) - 1);
    return frame;
  };
  const opening = (key, marker, extra = {}) => {
    flush(p);
    const frame = { key, marker, c: [], ...extra };
    stack.push(frame);
    open.set(key, (open.get(key) || 0) + 1);
    return frame;
  };

  while (p < s.length) {
    ctx.stats.steps += 1;
    const char = s[p];
    if (char === "\n") {
      p += 1;
      continue;
    }
    if (!SPECIAL.has(char)) {
      p += 1;
      continue;
    }
    const prev = s[p - 1];

    if (char === "\\") {
      const next = s[p + 1];
      if (next !== undefined && ASCII_PUNCTUATION.includes(next)) {
        push(next, p + 2);
      } else p += 1;
      continue;
    }

    if (char === "`") {
      let end = p;
      while (s[end] === "`") end += 1;
      const size = end - p;
      ctx.stats.steps += size;
      codeCloser ||= backtickRuns(s, ctx);
      const closer = codeCloser(p, size);
      if (closer === -1) {
        p = end; // text: no run of this size follows
        continue;
      }
      let code = s.slice(end, closer).replaceAll("\n", " ");
      if (code.length >= 2 && code[0] === " " && code.at(-1) === " " && code.trim()) code = code.slice(1, -1);
      push({ t: "code", text: code }, closer + size);
      continue;
    }

    if (char === "*" || char === "_" || char === "~") {
      let end = p;
      while (s[end] === char) end += 1;
      const size = end - p;
      ctx.stats.steps += size;
      const next = s[end];
      const marker = s.slice(p, end);
      const keys =
        char === "~" ? (size === 2 ? ["~~"] : []) : size === 1 ? [char] : size === 2 ? [marker] : size === 3 ? [char + char, char] : [];
      let canOpen = !isSpace(next);
      let canClose = !isSpace(prev);
      if (char === "_") {
        // snake_case_names are not emphasis
        canOpen = canOpen && !isAlnum(prev);
        canClose = canClose && !isAlnum(next);
      }
      if (keys.length && canClose && keys.every(isOpen)) {
        flush(p);
        // "***" closes the inner one first.
        for (const key of [...keys].reverse()) {
          const frame = popTo(key);
          top().c.push({ t: DELIMITERS[key], c: frame.c });
        }
        p = end;
        textStart = end;
      } else if (keys.length && canOpen && stack.length - 1 + keys.length <= MAX_OPEN) {
        for (const key of keys) opening(key, key);
        p = end;
        textStart = end;
      } else p = end;
      continue;
    }

    if (char === "[") {
      if (stack.length - 1 < MAX_OPEN) {
        opening("[", "[", { active: true });
        p += 1;
        textStart = p;
      } else p += 1;
      continue;
    }

    if (char === "]") {
      if (!isOpen("[") || s[p + 1] !== "(") {
        p += 1;
        continue;
      }
      stops ||= urlStops(s, ctx);
      const urlEnd = stops[p + 2];
      const href = s[urlEnd] === ")" ? safeUrl(s.slice(p + 2, urlEnd)) : null;
      flush(p);
      const frame = popTo("[");
      if (href && frame.active) {
        top().c.push({ t: "link", href, c: frame.c });
        // A link cannot hold another: an enclosing "[" stays text.
        for (const other of stack) if (other.key === "[") other.active = false;
        p = urlEnd + 1;
        textStart = p;
      } else {
        open.set("[", open.get("[") + 1); // undo() counts it off
        undo([frame], top().c);
        p += 1; // the "]" stays as text (from textStart)
      }
      continue;
    }

    if (char === "@") {
      if (ctx.mentions.size && !(prev !== undefined && NOT_BEFORE_MARK.test(prev))) {
        let end = p + 1;
        if (/[A-Za-z0-9]/.test(s[end] || "")) while (isNameChar(s[end])) end += 1;
        ctx.stats.steps += end - p;
        let name = s.slice(p + 1, end);
        if (!ctx.mentions.has(name.toLowerCase())) name = name.replace(/[._-]+$/, "");
        if (name && ctx.mentions.has(name.toLowerCase())) {
          push({ t: "mention", name, text: `@${name}` }, p + 1 + name.length);
        } else p = end;
      } else p += 1;
      continue;
    }

    if (char === "#") {
      if (!(prev !== undefined && NOT_BEFORE_MARK.test(prev)) && /[A-Za-z0-9]/.test(s[p + 1] || "")) {
        let end = p + 1;
        while (isRoomChar(s[end])) end += 1;
        ctx.stats.steps += end - p;
        let name = s.slice(p + 1, end);
        if (s[end] !== "." || !isRoomChar(s[end + 1])) {
          name = name.replace(/[_-]+$/, "");
          if (name.length <= 40) push({ t: "room", name, text: `#${name}` }, p + 1 + name.length);
          else p = end;
        } else p = end;
      } else p += 1;
      continue;
    }

    // "h" or "H": a bare URL?
    if (prev === undefined || !isAlnum(prev)) {
      const pattern = isOpen("[") ? BARE_URL_IN_BRACKETS : BARE_URL;
      pattern.lastIndex = p;
      const match = pattern.exec(s);
      if (match) {
        ctx.stats.steps += match[0].length;
        const raw = trimUrl(match[0]);
        const href = safeUrl(raw);
        if (href) push({ t: "url", href, text: raw }, p + raw.length);
        else p += match[0].length;
        continue;
      }
    }
    p += 1;
  }
  flush(s.length);
  undo(stack.splice(1), root.c);
  return root.c;
}
