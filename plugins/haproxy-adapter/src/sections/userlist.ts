import { AdaptModel, P, type KeyPath, type Obj } from '../model';
import { type Section } from '../parse';

export function userlist(ad: AdaptModel, s: Section): void {
  const base: KeyPath = ['userlists', s.name];
  ad.use(P('basic-auth'));
  ad.set([...base, 'users'], {}, s.line);
  for (const d of s.directives) {
    const w = d.words;
    if (w[0] === 'group' && w[1]) {
      const members = w[2] === 'users' && w[3] ? w[3].split(',') : [];
      if (w.length > (w[2] === 'users' ? 4 : 2)) {
        ad.problem(d.line, w.join(' '), 'group takes a name and optionally "users a,b"');
        continue;
      }
      ad.set([...base, 'groups', w[1]], members, d.line);
    } else if (w[0] === 'user' && w[1]) {
      const u: Obj = {};
      for (let i = 2; i < w.length; i++) {
        if (w[i] === 'password') u.password = w[++i];
        else if (w[i] === 'insecure-password') u.insecurePassword = w[++i];
        else if (w[i] === 'groups') u.groups = (w[++i] ?? '').split(',');
        else {
          ad.problem(d.line, w.join(' '), `unknown user option "${w[i]}"`);
          break;
        }
      }
      ad.set([...base, 'users', w[1]], u, d.line);
    } else ad.problem(d.line, w.join(' '), 'a userlist holds group and user lines');
  }
}
