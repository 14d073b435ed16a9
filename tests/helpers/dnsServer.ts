/**
 * DNS servers for tests, in the test process, on 127.0.0.1 and a free UDP port: one that
 * answers from a zone of TXT records (SPF, DKIM keys, DMARC policies), NXDOMAIN for any
 * other name and an empty answer for another type, counting the questions it is asked;
 * and one that never answers (a resolver's timeout).
 */
import dgram from 'node:dgram';
import dns2 from 'dns2';

const { Packet } = dns2;

/** Names (lower case) to their TXT strings. */
export type Zone = Record<string, string[]>;

/** A TXT value cut into the 255-octet character-strings the wire carries. */
function characterStrings(value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < value.length; i += 255) out.push(value.slice(i, i + 255));
  return out;
}

export class ZoneServer {
  private constructor(
    private readonly server: ReturnType<typeof dns2.createServer>,
    readonly port: number,
    /** Every question asked, as `TYPE name`. */
    readonly questions: string[],
  ) {}

  static async start(zone: Zone): Promise<ZoneServer> {
    const questions: string[] = [];
    const server = dns2.createServer({
      udp: true,
      handle: (request, send) => {
        const response = Packet.createResponseFromRequest(request);
        const [question] = request.questions;
        if (!question) return void send(response);
        const name = question.name.toLowerCase();
        const type = Object.entries(Packet.TYPE).find(([, v]) => v === question.type)?.[0] ?? String(question.type);
        questions.push(`${type} ${name}`);
        const records = zone[name];
        if (!records) response.header.rcode = Packet.RCODE.NXDOMAIN;
        else if (question.type === Packet.TYPE.TXT) {
          for (const value of records) {
            // a record to encode: the typings' Resource also names the decoder's methods
            const answer = { name: question.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 300, data: characterStrings(value) };
            response.answers.push(answer as unknown as (typeof response.answers)[number]);
          }
        }
        void send(response);
      },
    });
    const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
    return new ZoneServer(server, addresses.udp!.port, questions);
  }

  /** How many times `TYPE name` was asked. */
  asked(question: string): number {
    return this.questions.filter((q) => q === question).length;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.server.close();
  }
}

/** A UDP socket that takes every question and answers none. */
export class SilentServer {
  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
  ) {}

  static async start(): Promise<SilentServer> {
    const socket = dgram.createSocket('udp4');
    socket.on('message', () => undefined);
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new SilentServer(socket, socket.address().port);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
