import type { Exchange, FetchValue } from '@switchyard/sdk';
import { HAPROXY_CONVERTERS, splitArgs } from '../src/converters-haproxy';
import { MORE_CONVERTERS } from '../src/converters';
import { CONVERTERS } from '../src/matchers';

/** As the plugin registers them: converters.ts wins on a shared name. */
const ALL = { ...HAPROXY_CONVERTERS, ...CONVERTERS, ...MORE_CONVERTERS };

/** Runs a converter chain the way the compiler does: each with its argument, the exchange passed along. */
function chain(value: FetchValue, steps: Array<[string, string?]>, vars: Record<string, string> = {}): FetchValue {
  const ex = { vars: new Map(Object.entries(vars)) } as unknown as Exchange;
  let v = value;
  for (const [name, arg] of steps) v = ALL[name]!.compile(arg)(v, ex);
  return v;
}

describe("HAProxy's converters (sample.c semantics)", () => {
  it('splits arguments at commas, with quotes and escapes', () => {
    expect(splitArgs("',',txn.var,_suff_")).toEqual([',', 'txn.var', '_suff_']);
    expect(splitArgs("',',,_suff_")).toEqual([',', '', '_suff_']);
    expect(splitArgs('a\\,b,c')).toEqual(['a,b', 'c']);
  });

  it('digests are binary; hex prints them (SHA-1 and SHA-256 test vectors of "abc")', () => {
    expect(chain('abc', [['sha1'], ['hex']])).toBe('A9993E364706816ABA3E25717850C26C9CD0D89D');
    expect(chain('abc', [['sha2'], ['hex']])).toBe('BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD');
    expect(chain('abc', [['sha2', '224'], ['hex']])).toBe('23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7');
    expect(chain('abc', [['digest', 'md5'], ['hex']])).toBe('900150983CD24FB0D6963F7D28E17F72');
    expect(() => ALL.sha2!.compile('100')).toThrow(/224, 256, 384 or 512/);
    expect(() => ALL.digest!.compile('nope')).toThrow(/unknown digest/);
  });

  it('hmac takes a base64 key or a variable holding one (RFC 4231 case 2: key "Jefe")', () => {
    const expected = '5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843';
    expect(chain('what do ya want for nothing?', [['hmac', 'sha256,SmVmZQ=='], ['hex']])).toBe(expected);
    expect(chain('what do ya want for nothing?', [['hmac', 'sha256,txn.key'], ['hex']], { 'txn.key': 'SmVmZQ==' })).toBe(expected);
    expect(chain('x', [['hmac', 'sha256,txn.none']])).toBeUndefined();
  });

  it('be2dec / be2hex: per chunk, with a separator, truncating the last chunk on request', () => {
    expect(chain('0123456789', [['be2dec', ':,1']])).toBe('48:49:50:51:52:53:54:55:56:57');
    expect(chain('0123456789', [['be2dec', '-,3']])).toBe('3158322-3355701-3553080-57');
    expect(chain('0123456789', [['be2dec', '::,3,1']])).toBe('3158322::3355701::3553080');
    expect(chain('0123456789', [['be2hex']])).toBe('30313233343536373839');
    expect(chain('0123456789', [['be2hex', '--,3']])).toBe('303132--333435--363738--39');
    expect(chain('0123456789', [['be2hex', '.,3,1']])).toBe('303132.333435.363738');
    expect(chain('', [['be2dec', ':,1']])).toBe('');
  });

  it('add_item, concat, strcmp, length, bytes', () => {
    expect(chain('', [['add_item', "',',txn.var,_suff_"]], { 'txn.var': 'var_content' })).toBe('var_content_suff_');
    expect(chain('input_string', [['add_item', "',',txn.var"]], { 'txn.var': 'var_content' })).toBe('input_string,var_content');
    expect(chain('input_string', [['add_item', "',',,_suff_"]])).toBe('input_string,_suff_');
    expect(chain('a', [['concat', 'b,txn.x,c']], { 'txn.x': 'X' })).toBe('abXc');
    expect(chain('abc', [['strcmp', 'txn.x']], { 'txn.x': 'abc' })).toBe(0);
    expect(chain('abd', [['strcmp', 'txn.x']], { 'txn.x': 'abc' }) as number).toBeGreaterThan(0);
    expect(chain('abcdef', [['bytes', '2,3']])).toBe('cde');
  });

  it('base64 and base64url round trips', () => {
    expect(chain('my_super_secret_long_key', [['base64']])).toBe('bXlfc3VwZXJfc2VjcmV0X2xvbmdfa2V5');
    expect(chain('bXlfc3VwZXJfc2VjcmV0X2xvbmdfa2V5', [['b64dec']])).toBe('my_super_secret_long_key');
    expect(chain('\xff\xfe', [['ub64enc']])).toBe('__4');
    expect(chain('__4', [['ub64dec'], ['hex']])).toBe('FFFE');
  });

});
