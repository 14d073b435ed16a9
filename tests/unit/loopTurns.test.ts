import { SLICE_MS, loopTurn } from '../../src/loopTurns';

const busy = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

describe('loopTurn', () => {
  it('lets a timer run during a loop whose awaits settle at once', async () => {
    let timerRanAt: number | undefined;
    let step = 0;
    setTimeout(() => (timerRanAt = step), 0);
    const started = Date.now();
    // about 60 ms of work in steps that never wait for I/O
    while (Date.now() - started < 60) {
      busy(1);
      step++;
      await Promise.resolve();
      await loopTurn();
    }
    expect(timerRanAt).toBeDefined();
    expect(timerRanAt).toBeLessThan(step);
  });

  it('goes on at once within a slice, and shares the turn between loops', async () => {
    busy(SLICE_MS + 1);
    await loopTurn(); // a turn: the slice starts now
    let immediate = false;
    setImmediate(() => (immediate = true));
    for (let i = 0; i < 20; i++) await loopTurn();
    expect(immediate).toBe(false);
    // two loops: both step, taking turns, until their work is done
    const steps: string[] = [];
    const loop = async (name: string) => {
      for (let i = 0; i < 30; i++) {
        busy(1);
        steps.push(name);
        await loopTurn();
      }
    };
    await Promise.all([loop('a'), loop('b')]);
    expect(steps.filter((s) => s === 'a')).toHaveLength(30);
    expect(steps.indexOf('b')).toBeLessThan(5);
  });
});
