import t from 'tap';
import { generatePassword, hashPassword, verifyPassword } from '../../daemon/admin/password-hash.js';

const fast = { N: 1024, r: 8, p: 1 };

t.test('a hash carries its parameters and salt, and verifies only the right password', async (t) => {
  const h = await hashPassword('correct-horse-battery', fast);
  t.match(h, /^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
  t.ok(await verifyPassword('correct-horse-battery', h));
  t.notOk(await verifyPassword('correct-horse-batterY', h));
  t.not(await hashPassword('correct-horse-battery', fast), h, 'a fresh salt each time');
});

t.test('unreadable stored strings are a failed check, not an exception', async (t) => {
  for (const bad of ['', 'plain', 'scrypt$x$8$1$aa$bb', 'bcrypt$1$2$3$4$5', 'scrypt$1024$8$1$c2FsdA$short']) {
    t.notOk(await verifyPassword('x', bad), bad);
  }
});

t.test('generated passwords are long and differ', async (t) => {
  const a = generatePassword();
  t.ok(a.length >= 20);
  t.not(a, generatePassword());
});
