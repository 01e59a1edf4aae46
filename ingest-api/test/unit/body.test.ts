import { describe, expect, it } from 'vitest';
import { checkContentEncoding, checkContentType } from '../../src/body.ts';
import { UnsupportedMediaTypeError } from '../../src/errors.ts';

describe('content negotiation', () => {
  it('accepts JSON and text/plain (sendBeacon) in UTF-8', () => {
    for (const ct of ['application/json', 'application/json; charset=utf-8', 'text/plain;charset=UTF-8', 'application/vnd.api+json']) {
      expect(() => checkContentType(ct)).not.toThrow();
    }
  });
  it('refuses other types, other charsets and a missing type with 415', () => {
    for (const ct of [undefined, 'application/xml', 'multipart/form-data; boundary=x', 'text/plain; charset=latin1']) {
      expect(() => checkContentType(ct)).toThrow(UnsupportedMediaTypeError);
    }
  });
  it('reads gzip or no encoding, and refuses others with 415', () => {
    expect(checkContentEncoding(undefined)).toBe('identity');
    expect(checkContentEncoding('GZIP')).toBe('gzip');
    expect(() => checkContentEncoding('br')).toThrow(UnsupportedMediaTypeError);
  });
});
