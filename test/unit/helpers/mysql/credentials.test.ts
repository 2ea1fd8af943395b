import { describe, expect, it } from 'vitest';
import { CredentialsError } from '../../../../src/errors.js';
import { parseCredentials, quoteOption, toClientCnf } from '../../../../src/helpers/mysql/credentials.js';

describe('parseCredentials: my.cnf', () => {
  it('reads user, password and port from [client]', () => {
    const text = '[client]\nuser=backup\npassword=hunter2\nport=3307\n';
    expect(parseCredentials(text)).toEqual({ user: 'backup', password: 'hunter2', port: 3307 });
  });

  it('leaves the port out when the file has none', () => {
    expect(parseCredentials('[client]\nuser=a\npassword=b\n')).toEqual({ user: 'a', password: 'b' });
  });

  it.each(['mysql', 'mariadb', 'mysqldump', 'mariadb-dump', 'client-mariadb', 'CLIENT'])('reads the [%s] section too', (section) => {
    expect(parseCredentials(`[${section}]\nuser=u\npassword=p\n`)).toEqual({ user: 'u', password: 'p' });
  });

  it('ignores sections clients do not read, such as [mysqld]', () => {
    const text = '[mysqld]\nuser=mysql\npassword=server-side\n[client]\nuser=backup\npassword=right\n[mysqld_safe]\npassword=wrong\n';
    expect(parseCredentials(text)).toEqual({ user: 'backup', password: 'right' });
  });

  it('lets a later client section override an earlier one, as the clients do', () => {
    expect(parseCredentials('[client]\nuser=a\npassword=one\n[mysqldump]\npassword=two\n')).toEqual({ user: 'a', password: 'two' });
  });

  it('skips # and ; comment lines, blank lines and bare options; trims spaces around =', () => {
    const text = '# my.cnf\n; old style\n\n[client]\n  # user=nobody\nquick\nuser = backup \npassword =  hunter2  \r\n';
    expect(parseCredentials(text)).toEqual({ user: 'backup', password: 'hunter2' });
  });

  it('strips one pair of surrounding quotes, double or single', () => {
    expect(parseCredentials('[client]\nuser="back up"\npassword="a \\\\ # not a comment"\n')).toEqual({
      user: 'back up',
      password: 'a \\ # not a comment',
    });
    expect(parseCredentials("[client]\nuser='u'\npassword='p#w = x'\n")).toEqual({ user: 'u', password: 'p#w = x' });
    // Only the outer pair goes; spaces inside the quotes stay.
    expect(parseCredentials('[client]\nuser=u\npassword=""a""\n').password).toBe('"a"');
    expect(parseCredentials("[client]\nuser=u\npassword=  '  x  '  \n").password).toBe('  x  ');
    // A lone quote, or quotes that do not match, are part of the value.
    expect(parseCredentials('[client]\nuser=u\npassword="\n').password).toBe('"');
    expect(parseCredentials('[client]\nuser=u\npassword="x\'\n').password).toBe('"x\'');
  });

  it('keeps an empty password, which is a valid (if unwise) one', () => {
    expect(parseCredentials('[client]\nuser=root\npassword=\n')).toEqual({ user: 'root', password: '' });
  });

  it('fails without a user, without a password, or with a bad port, naming the file', () => {
    expect(() => parseCredentials('[client]\npassword=p\n')).toThrow(CredentialsError);
    expect(() => parseCredentials('[client]\npassword=p\n', '/etc/my.cnf')).toThrow(
      new CredentialsError('/etc/my.cnf: no user in a [client] section'),
    );
    expect(() => parseCredentials('[client]\nuser=u\n', '/etc/my.cnf')).toThrow('/etc/my.cnf: no password in a [client] section');
    expect(() => parseCredentials('[mysqld]\nuser=u\npassword=p\n')).toThrow(/no user/);
    for (const port of ['0', '65536', 'abc', '33.06']) {
      expect(() => parseCredentials(`[client]\nuser=u\npassword=p\nport=${port}\n`)).toThrow(`invalid port "${port}"`);
    }
  });

  // The clients (mysys/my_default.c) allow a `#` comment after a value ("A # comment can start
  // in the middle of a line"): "hunter2 # rotated 2026" means hunter2.
  it('drops a # comment after an unquoted value, as the mysql clients do', () => {
    expect(parseCredentials('[client]\nuser=backup # the backup account\npassword=hunter2 # rotated 2026\n')).toEqual({
      user: 'backup',
      password: 'hunter2',
    });
    expect(parseCredentials('[client]\nuser=u\npassword=a#b#c\n').password).toBe('a');
    expect(parseCredentials('[client]\nuser=u\npassword=#\n').password).toBe('');
  });

  it('keeps a # inside quotes, and drops a comment after the closing quote', () => {
    expect(parseCredentials('[client]\nuser=u\npassword="p#w" # the comment\n').password).toBe('p#w');
    expect(parseCredentials("[client]\nuser=u\npassword='p#w'# the comment\n").password).toBe('p#w');
    expect(parseCredentials('[client]\nuser=u\npassword="a\\\\"#b"\n').password).toBe('a\\');
  });

  // remove_end_comment tracks quotes anywhere in the value, not just around it: an inner quote
  // opens a quoted stretch (so a later `#` is literal) and the same kind of quote closes it.
  it('tracks inner quotes as the clients do when looking for a comment', () => {
    expect(parseCredentials('[client]\nuser=u\npassword=a"b#c\n').password).toBe('a"b#c');
    expect(parseCredentials('[client]\nuser=u\npassword=a"b"#c\n').password).toBe('a"b"');
    expect(parseCredentials("[client]\nuser=u\npassword=a'b'c#d\n").password).toBe("a'b'c");
    // A quote of the other kind does not close it.
    expect(parseCredentials('[client]\nuser=u\npassword=a"b\'#c\n').password).toBe('a"b\'#c');
    // The second quote closes the first, so the # after it is a comment, and the rest, `"a"b`,
    // does not end with a quote: nothing is stripped.
    expect(parseCredentials('[client]\nuser=u\npassword="a"b#"\n').password).toBe('"a"b');
  });

  // Option values honour the escapes \\ \s \t \n \r \b, quoted or not: `pass\\word` means `pass\word`.
  it('interprets option-file escapes in unquoted values', () => {
    expect(parseCredentials('[client]\nuser=u\npassword=pass\\\\word\\sx\n')).toEqual({ user: 'u', password: 'pass\\word x' });
  });

  it('interprets the same escapes inside quotes, and keeps any other backslash as it is', () => {
    expect(parseCredentials('[client]\nuser=u\npassword="\\t\\n\\r\\b\\s\\\\"\n').password).toBe('\t\n\r\b \\');
    expect(parseCredentials('[client]\nuser=u\npassword=\\q\\x\\0\\%\n').password).toBe('\\q\\x\\0\\%');
    expect(parseCredentials('[client]\nuser=u\npassword="C:\\dir\\file"\n').password).toBe('C:\\dir\\file');
    // A trailing backslash has nothing to escape and stays.
    expect(parseCredentials('[client]\nuser=u\npassword=x\\\n').password).toBe('x\\');
    expect(parseCredentials('[client]\nuser=u\npassword="x\\\\\\"\n').password).toBe('x\\\\');
  });

  // BUG (src/helpers/mysql/credentials.ts OPTION_ESCAPES): the clients also unescape \" and \'
  // (mysys/my_default.c search_default_file_with_ext: `case '\"'` and `case '\''`; checked with
  // my_print_defaults from MariaDB 10.11.19 in dtool/mysql-tools:dev, which prints `a "q"` and
  // `it's` for the lines below). dtool keeps the backslash, so such a my.cnf gives the wrong password.
  // quoteOption never writes \" or \', so toClientCnf is not affected.
  it('unescapes \\" and \\\' as the clients do', () => {
    expect(parseCredentials('[client]\nuser=u\npassword="a \\"q\\""\n').password).toBe('a "q"');
    expect(parseCredentials("[client]\nuser=u\npassword='it\\'s'\n").password).toBe("it's");
    expect(parseCredentials('[client]\nuser=u\npassword=a\\"b\n').password).toBe('a"b');
  });
});

describe('parseCredentials: dbcreds.yml', () => {
  it('reads USER: and PASS: lines, with or without spaces', () => {
    expect(parseCredentials('USER:app\nPASS: s3cret\n')).toEqual({ user: 'app', password: 's3cret' });
    expect(parseCredentials('  user:  app  \n  pass:x\n')).toEqual({ user: 'app', password: 'x' });
  });

  it('keeps colons inside the password and unquotes YAML-quoted values', () => {
    expect(parseCredentials('USER: app\nPASS: "a:b:c"\n')).toEqual({ user: 'app', password: 'a:b:c' });
    expect(parseCredentials("USER: 'app'\nPASS: p:q\n")).toEqual({ user: 'app', password: 'p:q' });
  });

  it('ignores other keys', () => {
    expect(parseCredentials('HOST: db\nUSER: app\nPASS: pw\nDB: shop\n')).toEqual({ user: 'app', password: 'pw' });
  });

  it('fails without a PASS line or with an empty USER', () => {
    expect(() => parseCredentials('USER: app\n', 'dbcreds.yml')).toThrow(new CredentialsError('dbcreds.yml: expected USER: and PASS: lines'));
    expect(() => parseCredentials('USER:\nPASS: pw\n')).toThrow(CredentialsError);
  });
});

describe('parseCredentials: neither format', () => {
  it.each(['', 'just some text', 'user=u\npassword=p\n', '{"user":"u"}'])('rejects %j as garbage', (text) => {
    expect(() => parseCredentials(text, 'creds')).toThrow(
      new CredentialsError('creds: not a my.cnf ([client] section) nor a dbcreds.yml (USER:/PASS: lines)'),
    );
  });
});

describe('toClientCnf', () => {
  const endpoint = { host: 'db', port: 3306 };

  it('writes a [client] section with host, port, user and password', () => {
    expect(toClientCnf({ user: 'backup', password: 'hunter2' }, endpoint)).toBe('[client]\nhost=db\nport=3306\nuser="backup"\npassword="hunter2"\n');
  });

  // Backslashes are doubled; inner quotes are left alone (the clients would not unescape them
  // all the same way); the outer quote is single only when a `#` and a `"` are both inside.
  it.each([
    ['a double quote', 'pa"ss', '"pa"ss"'],
    ['a backslash', 'pa\\ss', '"pa\\\\ss"'],
    ['a backslash before a quote', '\\"', '"\\\\""'],
    ['a hash', 'pa#ss', '"pa#ss"'],
    ['spaces', ' pa ss ', '" pa ss "'],
    ['an equals sign', 'a=b=', '"a=b="'],
    ['a single quote', "it's", '"it\'s"'],
    ['a hash and a single quote', "it's#1", '"it\'s#1"'],
    ['a hash and a double quote', 'a"b#c', "'a\"b#c'"],
    ['a hash, a double quote and a backslash', '\\"#', "'\\\\\"#'"],
    ['nothing', '', '""'],
  ])('quotes a password with %s so the clients read it back unchanged', (_, password, quoted) => {
    expect(toClientCnf({ user: 'u', password }, endpoint)).toContain(`\npassword=${quoted}\n`);
  });

  it.each(['pa"ss', 'pa\\ss', 'pa#ss', ' pa ss ', 'a=b=', "it's", 'tab\there'])('round-trips %j through parseCredentials', (password) => {
    expect(parseCredentials(toClientCnf({ user: 'u"\\ser', password }, endpoint))).toEqual({ user: 'u"\\ser', password, port: 3306 });
  });

  // Each of these was also read back unchanged by MariaDB 10.11's my_print_defaults.
  const tricky = [
    '\\"',
    'a"b#c',
    "a'b#c",
    '#"',
    '"#',
    'x\\',
    '\\',
    '"',
    "'",
    '""',
    "''",
    '"a"',
    "'a'",
    'a\\"#',
    '\\\\"#x',
    "p#'",
    '\\s\\n\\t',
    '\\x\\y',
    '#',
    '# x',
    '" # "',
    'a\\#b',
    '%$!@\\\\\\',
    '"\\"',
    '= x =',
    ';x',
    '#;',
    'a\\\\',
    '\\"\\\'',
    '"#\\',
    '\\b',
    '\\\\s',
    ' # ',
    '  ',
    'ü"#€',
    "'#",
  ];
  it.each(tricky)('round-trips the tricky password %j', (password) => {
    expect(parseCredentials(toClientCnf({ user: 'u', password }, endpoint)).password).toBe(password);
  });

  it('round-trips every password it accepts, and accepts all but those holding #, " and \' together', () => {
    // A seeded generator over the characters that matter to option files: reproducible, no extra dependency.
    let state = 0x2545f491;
    const next = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    };
    const alphabet = ['"', "'", '#', '\\', ' ', '=', ';', 's', 't', 'n', 'b', 'r', 'x', '0', '\t', 'é'];
    let accepted = 0;
    for (let i = 0; i < 2000; i++) {
      const password = Array.from({ length: next() % 9 }, () => alphabet[next() % alphabet.length]).join('');
      const all = password.includes('#') && password.includes('"') && password.includes("'");
      if (all) {
        expect(() => toClientCnf({ user: 'u', password }, endpoint), password).toThrow(CredentialsError);
        continue;
      }
      accepted++;
      const user = `u${password}`;
      expect(parseCredentials(toClientCnf({ user, password }, endpoint)), JSON.stringify(password)).toEqual({ user, password, port: 3306 });
      expect(quoteOption(password)).toMatch(/^(".*"|'.*')$/);
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it('rejects a password holding #, " and \' together, which no quoting can carry', () => {
    for (const password of ['#"\'', 'a#b"c\'d', '\'"#', '\\#\\"\\\'']) {
      expect(() => toClientCnf({ user: 'u', password }, endpoint)).toThrow(CredentialsError);
      expect(() => quoteOption(password)).toThrow('a password holding #, " and \' together cannot be written to a client option file');
    }
    expect(() => toClientCnf({ user: '#"\'', password: 'p' }, endpoint)).toThrow(CredentialsError);
  });

  it('rejects line breaks in the password or the user, which would inject options', () => {
    expect(() => toClientCnf({ user: 'u', password: 'a\nhost=evil' }, endpoint)).toThrow(CredentialsError);
    expect(() => toClientCnf({ user: 'u', password: 'a\rb' }, endpoint)).toThrow('credentials must not contain line breaks');
    expect(() => toClientCnf({ user: 'u\n', password: 'p' }, endpoint)).toThrow(CredentialsError);
  });
});
