import { charsetOf, decodeUtf8, isUtf8Charset, parseFormBody } from './body-parsers.js';

describe('request bodies are UTF-8, decoded strictly', () => {
  it('reads the charset parameter of a content type', () => {
    expect(charsetOf('application/json')).toBeUndefined();
    expect(charsetOf('application/json; charset=UTF-8')).toBe('utf-8');
    expect(charsetOf('application/json;Charset="iso-8859-1"')).toBe('iso-8859-1');
    expect(charsetOf(undefined)).toBeUndefined();
  });

  it('takes UTF-8 (or no charset) and nothing else', () => {
    expect([undefined, 'utf-8', 'utf8'].every(isUtf8Charset)).toBe(true);
    expect(['iso-8859-1', 'latin1', 'windows-1252', 'utf-16', ''].some(isUtf8Charset)).toBe(false);
  });

  it('decodes valid UTF-8, and refuses bytes that are not, instead of inventing U+FFFD', () => {
    expect(decodeUtf8(Buffer.from('"Sone sør"', 'utf8'))).toBe('"Sone sør"');
    expect(decodeUtf8(Buffer.from('"Sone s\xF8r"', 'latin1'))).toBeUndefined();
    expect(decodeUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBeUndefined(); // an encoded surrogate
    expect(decodeUtf8(Buffer.from([0xef, 0xbf, 0xbd]))).toBe('\uFFFD'); // a U+FFFD the client sent
  });

  it('parses a form body with repeats as arrays, and refuses escapes that are not UTF-8', () => {
    expect(parseFormBody('date=ge2026-01-01&date=le2026-06-30&a+b=c%7Cd&flag')).toEqual({ date: ['ge2026-01-01', 'le2026-06-30'], 'a b': 'c|d', flag: '' });
    expect(parseFormBody('name=s%F8r')).toBeUndefined();
    expect(parseFormBody('name=%E0%A4')).toBeUndefined();
    expect(Object.getPrototypeOf(parseFormBody('__proto__=x'))).toBe(Object.prototype);
  });
});
