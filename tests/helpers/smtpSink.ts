/**
 * A real SMTP server in the test process (smtp-server) that keeps every message it
 * accepts. A test can make it refuse recipients (`reject`) with any reply code, stop and
 * start it again on the same port, and parse what arrived with mailparser.
 */
import net from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SunkMessage {
  from: string;
  to: string[];
  raw: Buffer;
}

export class SmtpSink {
  readonly messages: SunkMessage[] = [];
  /** Recipient address -> the SMTP reply it gets (e.g. `550 no such user`). */
  readonly reject = new Map<string, string>();
  /** Called for every message accepted. */
  onMessage?: (message: SunkMessage) => void | Promise<void>;
  private server?: SMTPServer;

  private constructor(readonly port: number) {}

  static async start(): Promise<SmtpSink> {
    const port = await freePort();
    const sink = new SmtpSink(port);
    await sink.resume();
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Listens (again) on the sink's port. */
  async resume(): Promise<void> {
    const server = new SMTPServer({
      secure: false,
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      closeTimeout: 200,
      size: 60 * 1024 * 1024,
      onRcptTo: (address, _session, callback) => {
        const answer = this.reject.get(address.address.toLowerCase());
        if (!answer) return callback();
        const code = Number(answer.slice(0, 3));
        const error = new Error(answer.slice(4)) as Error & { responseCode: number };
        error.responseCode = code;
        callback(error);
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const message = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks),
          };
          this.messages.push(message);
          Promise.resolve(this.onMessage?.(message)).catch(() => undefined);
          callback();
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    // A client killed mid-session resets its connection; smtp-server reports that as a
    // server 'error', which must not bring the test process down.
    server.on('error', () => undefined);
    this.server = server;
  }

  /** Stops listening and drops open connections (a mail server going away). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Messages delivered to `address` (envelope recipient). */
  to(address: string): SunkMessage[] {
    return this.messages.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase()));
  }

  clear(): void {
    this.messages.length = 0;
  }
}

export function parse(message: SunkMessage): Promise<ParsedMail> {
  return simpleParser(message.raw);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
    server.on('error', reject);
  });
}
