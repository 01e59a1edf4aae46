import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { IncomingMessage } from 'node:http';
import { MalformedBatchError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors.ts';

const gunzipAsync = promisify(gunzip);

/**
 * Reads a batch body as text. Accepts application/json, any +json type and
 * text/plain (what navigator.sendBeacon sends with a string, which skips the
 * CORS preflight). Content-Encoding gzip is inflated with a hard output cap,
 * so a small "zip bomb" costs at most maxBytes of memory before we answer 413.
 */
export function checkContentType(contentType: string | undefined): void {
  if (!contentType) throw new UnsupportedMediaTypeError('Content-Type is missing; send application/json or text/plain');
  const semi = contentType.indexOf(';');
  const mime = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (mime !== 'application/json' && mime !== 'text/plain' && !(mime.startsWith('application/') && mime.endsWith('+json'))) {
    throw new UnsupportedMediaTypeError(
      `Content-Type ${JSON.stringify(mime.slice(0, 100))} is not supported; send application/json or text/plain`,
    );
  }
  if (semi >= 0) {
    const m = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType.slice(semi));
    if (m && !/^utf-?8$/i.test(m[1]!))
      throw new UnsupportedMediaTypeError(`charset ${JSON.stringify(m[1]!.slice(0, 40))} is not supported; send UTF-8`);
  }
}

export function checkContentEncoding(encoding: string | undefined): 'gzip' | 'identity' {
  if (!encoding) return 'identity';
  const e = encoding.trim().toLowerCase();
  if (e === '' || e === 'identity') return 'identity';
  if (e === 'gzip' || e === 'x-gzip') return 'gzip';
  throw new UnsupportedMediaTypeError(`Content-Encoding ${JSON.stringify(e.slice(0, 40))} is not supported; send gzip or no encoding`);
}

/**
 * Reads the body, at most maxBytes of it. Past that, the rest (up to
 * discardBytes) is read and thrown away before the 413, so the connection
 * stays usable and the client reliably sees the answer: closing a socket with
 * unread data makes the kernel send a reset, which clients report instead of
 * our 413. Bigger bodies get the 413 and the connection is closed.
 */
export async function readBodyText(
  req: IncomingMessage,
  encoding: 'gzip' | 'identity',
  maxBytes: number,
  discardBytes = maxBytes,
): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > discardBytes) {
    throw new PayloadTooLargeError(`body of ${declared} bytes exceeds MAX_BATCH_BYTES=${maxBytes}`, true);
  }
  const raw = await readRaw(req, maxBytes, discardBytes);
  if (encoding === 'identity') return raw.toString('utf8');
  let inflated: Buffer;
  try {
    inflated = await gunzipAsync(raw, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new PayloadTooLargeError(`body inflates past MAX_BATCH_BYTES=${maxBytes} bytes`);
    }
    throw new MalformedBatchError('body is not valid gzip', 'malformed_body', { cause: err });
  }
  return inflated.toString('utf8');
}

function readRaw(req: IncomingMessage, maxBytes: number, discardBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined, buf?: Buffer) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err) reject(err);
      else resolve(buf!);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      if (size > discardBytes) {
        req.pause();
        finish(new PayloadTooLargeError(`body exceeds MAX_BATCH_BYTES=${maxBytes} bytes`, true));
      }
    };
    const onEnd = () => {
      if (size > maxBytes) finish(new PayloadTooLargeError(`body of ${size} bytes exceeds MAX_BATCH_BYTES=${maxBytes}`));
      else finish(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => finish(new MalformedBatchError('request body could not be read', 'body_read_failed', { cause: err }));
    const onAborted = () => finish(new MalformedBatchError('client aborted the request', 'body_read_failed'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
