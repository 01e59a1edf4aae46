/**
 * A small TCP fault proxy (in place of Toxiproxy, which would need a Go build
 * pinned like loadtest/k6build; the four faults the suite needs fit in this
 * file). Modes, switchable at any time:
 * - up: bytes flow both ways, optionally delayed by `latencyMs` per chunk;
 * - drop-responses: requests still reach the upstream (so a broker stores a
 *   produce), but every byte coming back is discarded: the acknowledgement is
 *   lost. Leaving this mode resets the affected connections, since their
 *   response streams are now missing bytes;
 * - hang: nothing is forwarded either way, connections stay open (and are
 *   reset when the mode changes back, as after a wedged link times out);
 * - reset: open connections are reset (RST) and new ones reset on accept.
 */
import net from 'node:net';

export type ProxyMode = 'up' | 'drop-responses' | 'hang' | 'reset';

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
  /** Bytes were dropped on this pair; it cannot be trusted again. */
  tainted: boolean;
}

export class FaultProxy {
  mode: ProxyMode = 'up';
  latencyMs = 0;
  port = 0;
  /** Response bytes discarded so far. */
  droppedBytes = 0;
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  async listen(port = 0): Promise<number> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    client.setNoDelay(true);
    const upstream = net.connect({ host: this.upstreamHost, port: this.upstreamPort, noDelay: true });
    upstream.on('error', () => client.destroy());
    const pair: Pair = { client, upstream, tainted: false };
    this.pairs.add(pair);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('data', (chunk: Buffer) => {
      if (this.mode === 'hang') {
        pair.tainted = true;
        return;
      }
      this.forward(upstream, chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.mode === 'hang') {
        pair.tainted = true;
        return;
      }
      if (this.mode === 'drop-responses') {
        pair.tainted = true;
        this.droppedBytes += chunk.length;
        return;
      }
      this.forward(client, chunk);
    });
  }

  private forward(to: net.Socket, chunk: Buffer): void {
    if (this.latencyMs > 0) setTimeout(() => to.destroyed || to.write(chunk), this.latencyMs);
    else to.write(chunk);
  }

  set(mode: ProxyMode): void {
    this.mode = mode;
    for (const pair of this.pairs) {
      if (mode === 'reset' || (mode === 'up' && pair.tainted)) {
        pair.upstream.destroy();
        pair.client.resetAndDestroy();
      }
    }
  }

  get connections(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.set('reset');
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
