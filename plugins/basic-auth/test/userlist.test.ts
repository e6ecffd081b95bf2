import bcrypt from 'bcryptjs';
import { Userlist } from '../src/userlist';

describe('Userlist', () => {
  const hash = bcrypt.hashSync('pw', 6);

  it('shares one hash computation between concurrent checks of the same credentials', async () => {
    const list = new Userlist('l', { users: { alice: { password: hash } } }, 'userlists.l', { max: 100, ttl: 60_000 });
    const original = bcrypt.compare;
    let calls = 0;
    // Count real bcrypt computations (the spy calls through to bcryptjs).
    const spy = jest.spyOn(bcrypt, 'compare').mockImplementation(((pw: string, h: string) => {
      calls++;
      return original(pw, h);
    }) as typeof bcrypt.compare);
    try {
      const results = await Promise.all(Array.from({ length: 6 }, () => list.verify('alice', 'pw')));
      expect(results.every((r) => r?.name === 'alice')).toBe(true);
      expect(calls).toBe(1);
      expect((await list.verify('alice', 'pw'))?.name).toBe('alice'); // cached now
      expect(calls).toBe(1);
      expect(await list.verify('alice', 'nope')).toBeNull();
      expect(calls).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses unknown users even with a password that matches another user (decoy check)', async () => {
    const list = new Userlist('l', { users: { alice: { password: hash } } }, 'userlists.l', { max: 100, ttl: 60_000 });
    expect(await list.verify('mallory', 'pw')).toBeNull();
    expect(list.verifySync('mallory', 'pw')).toBeNull();
    expect((await list.verify('alice', 'pw'))?.name).toBe('alice');
  });
});
