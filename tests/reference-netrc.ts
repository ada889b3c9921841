// The plain reference netrc parser for property tests: Python's _netrclex one character at a time,
// as the first release had it. The fast lexer in login.ts must agree with it on every file.
import type { NetrcEntry, NetrcParse } from "../login";

/** Parses netrc text the way Python's `netrc` module does, one character at a time. */
export function referenceParse(text: string): Omit<NetrcParse, "end"> & { openAtEof: boolean } {
  let pos = 0,
    line = 1,
    openAtEof = false;
  const read = (): string => {
    // universal newlines, as Python reads the file
    if (pos >= text.length) return "";
    let ch = text[pos++];
    if (ch === "\r") {
      if (text[pos] === "\n") pos++;
      ch = "\n";
    }
    if (ch === "\n") line++;
    return ch;
  };
  const readLine = (): string => {
    let s = "";
    for (let ch = read(); ch; ch = read()) {
      s += ch;
      if (ch === "\n") break;
    }
    return s;
  };
  let tokStart = 0,
    tokEnd = 0;
  const token = (): string => {
    // Python's _netrclex.get_token, plus the token's offsets
    let tok = "";
    for (let ch = read(); ch; ch = read()) {
      if (" \t\n".includes(ch)) continue;
      tokStart = pos - 1;
      const quoted = ch === '"';
      if (!quoted) {
        if (ch === "\\") {
          ch = read();
          openAtEof ||= !ch;
        }
        tok += ch;
      }
      for (let before = pos, c = read(); ; before = pos, c = read()) {
        if (!c) {
          openAtEof ||= quoted;
          tokEnd = pos;
          return tok;
        }
        if (quoted ? c === '"' : " \t\n".includes(c)) {
          tokEnd = quoted ? pos : before;
          return tok;
        }
        if (c === "\\") {
          c = read();
          openAtEof ||= !c;
        }
        tok += c;
      }
    }
    tokStart = tokEnd = pos;
    return tok;
  };

  const result: Omit<NetrcParse, "end"> & { openAtEof: boolean } = {
    entries: [],
    visible: -1,
    stopAt: text.length,
    openAtEof: false,
  };
  const stop = (error?: string, at = tokStart) => {
    if (result.visible >= 0) return;
    Object.assign(result, {
      visible: result.entries.length,
      stopAt: at,
      error: error && `${error} (line ${line})`,
    });
  };
  let pushed: string | null = null;
  for (;;) {
    const lineBefore = line;
    const tt = pushed ?? token();
    pushed = null;
    if (pos >= text.length && !tt) break;
    if (!tt) {
      stop();
      continue;
    } // Python stops at an empty token such as ""
    if (tt[0] === "#") {
      if (line === lineBefore && tt.length === 1) readLine();
      continue;
    }
    if (tt === "macdef") {
      token();
      for (;;) {
        const body = readLine();
        if (!body) {
          stop("Macro definition missing null line terminator.");
          openAtEof = true;
          break;
        }
        if (body === "\n") break;
      }
      continue;
    }
    if (tt !== "machine" && tt !== "default") {
      stop(`bad toplevel token ${JSON.stringify(tt)}`);
      continue;
    }
    const start = tokStart;
    const name = tt === "default" ? "default" : token();
    if (!name) {
      stop(`missing ${JSON.stringify(tt)} name`);
      break;
    }
    const entry: NetrcEntry = { kind: tt, name, login: "", account: "", password: "", start, end: tokEnd };
    let endsHere = false; // a quoted "" where a keyword belongs ends Python's parse, silently
    for (;;) {
      const lineBefore = line;
      const ft = token();
      if (ft.startsWith("#")) {
        if (line === lineBefore) readLine();
        continue;
      }
      if (["", "machine", "default", "macdef"].includes(ft)) {
        endsHere = !ft && pos < text.length;
        pushed = ft || null;
        break;
      }
      if (ft === "login" || ft === "user") entry.login = token();
      else if (ft === "account") entry.account = token();
      else if (ft === "password") entry.password = token();
      else {
        stop(`bad follower token ${JSON.stringify(ft)}`);
        continue;
      } // not ours to remove
      entry.end = tokEnd;
    }
    result.entries.push(entry);
    if (endsHere) stop();
    if (pos >= text.length && !pushed) break;
  }
  stop(undefined, text.length);
  result.openAtEof = openAtEof;
  return result;
}
