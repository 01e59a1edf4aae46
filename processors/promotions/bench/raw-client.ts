/**
 * A light keep-alive HTTP/1.1 GET client for the open-loop API benchmark:
 * raw sockets, one request in flight per connection, a pool that grows up to
 * `max` connections and then queues (queueing is then part of the measured
 * latency, as it should be for a fixed arrival rate). node:http's client costs
 * several times the server's CPU per request, which on a shared 2-core machine
 * made the load generator, not the server, the limit.
 */
import net from 'node:net';

interface Pending {
  path: string;
  resolve: (status: number) => void;
  reject: (err: Error) => void;
}

interface Conn {
  socket: net.Socket;
  current: Pending | undefined;
  buf: Buffer;
}

export class RawGetClient {
  readonly #idle: Conn[] = [];
  readonly #all = new Set<Conn>();
  readonly #queue: Pending[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly max = 256,
  ) {}

  get connections(): number {
    return this.#all.size;
  }

  get(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const p = { path, resolve, reject };
      const c = this.#idle.pop() ?? (this.#all.size < this.max ? this.#open() : undefined);
      if (c) this.#send(c, p);
      else this.#queue.push(p);
    });
  }

  close(): void {
    for (const c of this.#all) c.socket.destroy();
  }

  #open(): Conn {
    const socket = net.connect(this.port, this.host);
    socket.setNoDelay(true);
    const c: Conn = { socket, current: undefined, buf: Buffer.alloc(0) };
    this.#all.add(c);
    socket.on('data', (d: Buffer) => this.#data(c, d));
    const fail = (err: Error) => {
      this.#all.delete(c);
      const i = this.#idle.indexOf(c);
      if (i >= 0) this.#idle.splice(i, 1);
      c.current?.reject(err);
      c.current = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
    return c;
  }

  #send(c: Conn, p: Pending): void {
    c.current = p;
    c.socket.write(`GET ${p.path} HTTP/1.1\r\nHost: ${this.host}\r\n\r\n`);
  }

  #data(c: Conn, d: Buffer): void {
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    for (;;) {
      const end = c.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = c.buf.toString('latin1', 0, end);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!m) {
        c.socket.destroy(new Error('response without Content-Length'));
        return;
      }
      const total = end + 4 + Number(m[1]);
      if (c.buf.length < total) return;
      c.buf = c.buf.subarray(total);
      const p = c.current;
      c.current = undefined;
      const next = this.#queue.shift();
      if (next) this.#send(c, next);
      else this.#idle.push(c);
      p?.resolve(Number(head.slice(9, 12)));
    }
  }
}
