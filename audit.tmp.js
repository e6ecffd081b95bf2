const fs=require('fs'),path=require('path');
const builtin=new Set(require('module').builtinModules);
const dirs=['sdk','core',...fs.readdirSync('plugins').map(d=>'plugins/'+d)];
function walk(d,out=[]){ if(!fs.existsSync(d))return out; for(const e of fs.readdirSync(d,{withFileTypes:true})){const p=path.join(d,e.name); if(e.isDirectory()) walk(p,out); else if(/\.(ts|js)$/.test(e.name)) out.push(p);} return out;}
function imports(files){const s=new Set(); for(const f of files){const t=fs.readFileSync(f,'utf8'); for(const m of t.matchAll(/(?:from\s+|require\(|import\()\s*['"]([^'".][^'"]*)['"]/g)){ if(/^\s*import\s+type/.test(t.slice(t.lastIndexOf('\n',m.index)+1,m.index+5))) {} let n=m[1]; if(n.startsWith('node:'))continue; n=n.startsWith('@')?n.split('/').slice(0,2).join('/'):n.split('/')[0]; if(builtin.has(n))continue; s.add(n);} } return s;}
for(const d of dirs){ const pj=path.join(d,'package.json'); if(!fs.existsSync(pj)) continue; const p=JSON.parse(fs.readFileSync(pj)); const decl=new Set([...Object.keys(p.dependencies||{}),...Object.keys(p.peerDependencies||{})]); const used=imports(walk(path.join(d,'src')));
 const undeclared=[...used].filter(x=>!decl.has(x)&&x!==p.name); const unused=[...decl].filter(x=>!used.has(x));
 if(undeclared.length||unused.length) console.log(d.padEnd(28),'undeclared:',undeclared.join(' '),'| unused:',unused.join(' '));}
const root=JSON.parse(fs.readFileSync('package.json'));
const testUsed=imports([...walk('test'),...dirs.flatMap(d=>walk(path.join(d,'test')))]);
console.log('root deps', Object.keys(root.dependencies||{}).join(' '));
console.log('tests import', [...testUsed].filter(x=>!x.startsWith('@switchyard')).join(' '));
