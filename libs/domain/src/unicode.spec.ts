import { codePointLength, hasLoneSurrogate, hasNul } from './unicode';

describe('codePointLength', () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 1],
    ['e\u0301', 2], // e + combining acute: two code points
    ['😀', 1],
    ['👍🏽', 2], // thumbs up + skin tone modifier
    ['👨‍👩‍👧', 5], // man, ZWJ, woman, ZWJ, girl
    ['🇫🇷', 2], // two regional indicators
    ['\ud83d', 1], // lone high surrogate
    ['\ude00x', 2], // lone low surrogate, then x
    ['a\ud83d', 2], // high surrogate at the very end
  ])('counts %p as %i code points', (text, expected) => {
    expect(codePointLength(text)).toBe(expected);
  });

  it('agrees with the string iterator', () => {
    for (const text of ['héllo wörld', '😀😀😀', 'a\ud83db\ude00c', '漢字かな', '\u0000\u0001']) {
      expect(codePointLength(text)).toBe([...text].length);
    }
  });
});

describe('hasLoneSurrogate', () => {
  it('finds unpaired surrogates but not pairs', () => {
    expect(hasLoneSurrogate('😀')).toBe(false);
    expect(hasLoneSurrogate('\ud83d')).toBe(true);
    expect(hasLoneSurrogate('x\ude00')).toBe(true);
    expect(hasLoneSurrogate('\ude00\ud83d')).toBe(true); // reversed pair
  });
});

describe('hasNul', () => {
  it('finds U+0000 anywhere', () => {
    expect(hasNul('\u0000')).toBe(true);
    expect(hasNul('abc\u0000')).toBe(true);
    expect(hasNul('abc 0')).toBe(false);
  });
});
