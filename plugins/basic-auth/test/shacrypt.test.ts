import { execFileSync } from 'node:child_process';
import { shaCrypt } from '../src/shacrypt';

// The test vectors published with the specification (https://www.akkadia.org/drepper/SHA-crypt.txt).
const VECTORS: Array<[string, string, string]> = [
  ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  ['$5$rounds=10000$saltstringsaltstring', 'Hello world!', '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
  ['$5$rounds=5000$toolongsaltstring', 'This is just a test', '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5'],
  ['$5$rounds=10$roundstoolow', 'the minimum number is still observed', '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC'],
  ['$6$saltstring', 'Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['$6$rounds=10000$saltstringsaltstring', 'Hello world!', '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
  ['$6$rounds=10$roundstoolow', 'the minimum number is still observed', '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
];

describe('SHA-crypt ($5$, $6$)', () => {
  it.each(VECTORS)('spec vector %s / %s', (setting, password, expected) => {
    expect(shaCrypt(password, setting)).toBe(expected);
    // Verifying = hashing again with the stored string as the setting.
    expect(shaCrypt(password, expected)).toBe(expected);
  });

  it('matches openssl passwd -5 and -6 (long passwords, several salts)', () => {
    const cases: Array<[string, string, string]> = [
      ['-5', 'abc', 'pw'],
      ['-6', 'Zx9.q/', 'a much longer password than the sixty-four bytes of one sha-512 digest, to cover step 10'],
      ['-5', 'sixteencharssalt', 'longer than thirty-two bytes, to cover that branch'],
      ['-6', 's', 'é unicode ü'],
    ];
    for (const [flag, salt, pw] of cases) {
      const hash = execFileSync('openssl', ['passwd', flag, '-salt', salt, pw], { encoding: 'utf8' }).trim();
      expect(shaCrypt(pw, hash)).toBe(hash);
      expect(shaCrypt(pw + 'x', hash)).not.toBe(hash);
    }
  });
});

describe('shaCryptAsync', () => {
  it('gives the same hashes as shaCrypt while letting timers run between slices', async () => {
    const { shaCryptAsync } = await import('../src/shacrypt');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      for (const [setting, password, expected] of VECTORS) expect(await shaCryptAsync(password, setting, 100)).toBe(expected);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});
