/**
 * The length of `text` in Unicode code points, as PostgreSQL's `char_length` counts it in
 * a UTF-8 database: an astral character (most emoji) is 1, not the 2 of `String.length`.
 * A lone surrogate counts as 1. Grapheme clusters (👍🏽, family emoji) count each code point.
 */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** Half of a surrogate pair without its other half: not encodable as UTF-8. */
export function hasLoneSurrogate(text: string): boolean {
  return /\p{Cs}/u.test(text);
}

export function hasNul(text: string): boolean {
  return text.includes('\u0000');
}
