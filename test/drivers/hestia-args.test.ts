// Argument validation and quoting, exit-code mapping and tolerant JSON for the HestiaCP driver.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Arg, ArgumentError, shellQuote } from '../../daemon/drivers/hestia/args.ts';
import { buildCommand } from '../../daemon/drivers/hestia/command.ts';
import { hestiaError, hasHestiaCode, isHestiaError } from '../../daemon/drivers/hestia/exit-codes.ts';
import { parseHestiaJson, HestiaParseError } from '../../daemon/drivers/hestia/json.ts';
import { packageFile } from '../../daemon/drivers/hestia/driver.ts';
import { RetryableError, TerminalError, classifyError } from '../../daemon/common/errors.ts';

const refuses = (kind: Parameters<typeof Arg.of>[0], value: unknown, rule: RegExp) =>
  assert.throws(() => Arg.of(kind, 'X', value), (e: unknown) => e instanceof ArgumentError && e instanceof TerminalError && /invalid argument X: /.test(e.message) && rule.test(e.message), `${kind} ${JSON.stringify(value)}`);

describe('Hestia arguments', () => {
  it('refuses hostile values for every kind, naming the argument and the rule', () => {
    for (const kind of ['user', 'newUser', 'domain', 'package', 'name', 'mailAccount', 'email'] as const) {
      refuses(kind, '-rf', /must not start with "-"/);
      refuses(kind, 'a\nb', /control characters or newlines/);
    }
    refuses('domain', 'example.com; rm -rf /', /ASCII|labels/);
    refuses('domain', '$(id).example.com', /labels are letters/);
    refuses('domain', '`id`.example.com', /labels are letters/);
    refuses('domain', 'exa mple.com', /ASCII/);
    refuses('domain', 'example..com', /empty label/);
    refuses('domain', '..', /empty label/);
    refuses('domain', 'a'.repeat(64) + '.com', /longer than 63/);
    refuses('domain', 'localhost', /two labels/);
    refuses('domain', '-example.com', /must not start with "-"/);
    refuses('domain', 'example-.com', /inner hyphens/);
    refuses('domain', 'ex--ample.com', /positions 3-4/);
    refuses('domain', '192.168.1.1', /numeric label/);
    refuses('domain', 'ехample.com', /ASCII/); // Cyrillic "е" and "х"
    refuses('domain', 'bücher.de', /punycode/);
    refuses('domain', ('a'.repeat(63) + '.').repeat(4) + 'com', /253/);
    refuses('newUser', '1alice', /letter first/);
    refuses('newUser', 'al;ice', /letter first/);
    refuses('newUser', 'sudo', /reserved/);
    refuses('newUser', 'a'.repeat(31), /2-30/);
    refuses('user', "al'ice", /user names/);
    refuses('email', 'a@b', /two labels/);
    refuses('email', 'a b@example.com', /local part/);
    refuses('ipv4', '256.1.1.1', /IPv4/);
    refuses('ipv4', '01.2.3.4', /IPv4/);
    refuses('recordName', 'a..b', /".."/);
    refuses('recordName', 'a b', /record names/);
    refuses('recordName', 'a*.b', /"\*"/);
    refuses('recordType', 'AXFR', /one of/);
    refuses('number', '1e3', /integer/);
    refuses('id', '0', /positive/);
    refuses('quota', '-1', /must not start with "-"/);
    refuses('yesNo', 'true', /yes/);
    refuses('restart', 'now', /yes/);
    refuses('name', 'Bob "the" Builder', /quotes/);
    refuses('name', 'x'.repeat(101), /100/);
    refuses('tmpPath', '/tmp/../etc/shadow', /generated/);
    refuses('package', 'gold plan', /package names/);
  });

  it('accepts and normalises ordinary values', () => {
    assert.equal(Arg.of('domain', 'D', 'Example.COM').value, 'example.com');
    assert.equal(Arg.of('domain', 'D', 'xn--bcher-kva.de').value, 'xn--bcher-kva.de');
    assert.equal(Arg.of('domain', 'D', 'a'.repeat(63) + '.com').value, 'a'.repeat(63) + '.com');
    assert.equal(Arg.of('newUser', 'U', 'alice_01').value, 'alice_01');
    assert.equal(Arg.of('user', 'U', 'a').value, 'a');
    assert.equal(Arg.of('email', 'E', 'John.Doe+x@Example.com').value, 'John.Doe+x@example.com');
    assert.equal(Arg.of('recordName', 'R', '_dmarc').value, '_dmarc');
    assert.equal(Arg.of('recordName', 'R', '*.Dev').value, '*.dev');
    assert.equal(Arg.of('recordType', 'T', 'mx').value, 'MX');
    assert.equal(Arg.of('quota', 'Q', 'unlimited').value, 'unlimited');
    assert.equal(Arg.of('mailAccount', 'A', 'Info.Desk').value, 'info.desk');
    assert.equal(Arg.of('hostname', 'NS1', 'ns1.example.com.').value, 'ns1.example.com.');
    assert.equal(Arg.of('aliases', 'A', 'www.example.com,*.example.com').value, 'www.example.com,*.example.com');
    assert.equal(Arg.of('name', 'N', "Zoë Smith-Jones").value, 'Zoë Smith-Jones');
  });

  it('checks record values by type', () => {
    assert.equal(Arg.recordValue('V', 'A', '192.0.2.1').value, '192.0.2.1');
    assert.equal(Arg.recordValue('V', 'AAAA', '2001:DB8::1').value, '2001:db8::1');
    assert.equal(Arg.recordValue('V', 'MX', 'mail.example.com.').value, 'mail.example.com.');
    assert.equal(Arg.recordValue('V', 'SRV', '5 443 sip.example.com').value, '5 443 sip.example.com');
    assert.equal(Arg.recordValue('V', 'TXT', 'v=spf1 a mx -all; "quoted" it\'s').value, 'v=spf1 a mx -all; "quoted" it\'s');
    assert.equal(Arg.recordValue('V', 'CAA', '0 issue "letsencrypt.org"').value, '0 issue "letsencrypt.org"');
    assert.throws(() => Arg.recordValue('V', 'A', 'example.com'), /IPv4/);
    assert.throws(() => Arg.recordValue('V', 'AAAA', '192.0.2.1'), /IPv6/);
    assert.throws(() => Arg.recordValue('V', 'CNAME', 'exa mple.com'), /ASCII|labels/);
    assert.throws(() => Arg.recordValue('V', 'TXT', 'line\nbreak'), /newlines/);
    assert.throws(() => Arg.recordValue('V', 'TXT', 'ünïcode'), /printable ASCII/);
    assert.throws(() => Arg.recordValue('V', 'SRV', '5 443'), /weight port target/);
    assert.throws(() => Arg.recordValue('V', 'DS', '1 2 $(id)'), /may hold only/);
  });

  it('single-quotes so that a POSIX shell gives back exactly the value', () => {
    const hostile = ["; rm -rf /", '$(id)', '`id`', "it's", "'''", 'a\\b', '"$HOME"', '*', '!!'];
    for (const v of hostile) {
      const out = execFileSync('/bin/sh', ['-c', `printf '%s' ${shellQuote(v)}`], { encoding: 'utf8' });
      assert.equal(out, v);
    }
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
  });

  it('builds the command line from an absolute path, with sudo -n unless root', () => {
    const args = [Arg.of('user', 'USER', 'alice'), Arg.recordValue('VALUE', 'TXT', "v=spf1 'x' -all"), Arg.empty('IP')];
    assert.equal(buildCommand('/usr/local/hestia/bin', 'v-add-user', args, { sudo: false }).line, `'/usr/local/hestia/bin/v-add-user' 'alice' 'v=spf1 '\\''x'\\'' -all' ''`);
    assert.equal(buildCommand('/usr/local/hestia/bin/', 'v-list-users', [], { sudo: true }).line, `sudo -n '/usr/local/hestia/bin/v-list-users'`);
    assert.throws(() => buildCommand('/bin', 'v-x; id', [], { sudo: false }), /not a Hestia v-command/);
    assert.throws(() => buildCommand('bin', 'v-x', [], { sudo: false }), /absolute path/);
    assert.throws(() => buildCommand('/bin', 'v-x', ['raw' as unknown as Arg], { sudo: false }), /not validated/);
  });

  it('writes a package file only from safe keys and values', () => {
    assert.equal(packageFile({ WEB_DOMAINS: 5, DISK_QUOTA: 'unlimited', NS: 'ns1.example.com,ns2.example.com' }), "WEB_DOMAINS='5'\nDISK_QUOTA='unlimited'\nNS='ns1.example.com,ns2.example.com'\n");
    assert.throws(() => packageFile({ WEB_DOMAINS: "1'; id; '" }), /invalid argument package WEB_DOMAINS/);
    assert.throws(() => packageFile({ 'web domains': 1 }), /keys are upper-case/);
    assert.throws(() => packageFile({ SHELL: '$(id)' }), /values are/);
  });
});

describe('Hestia exit codes', () => {
  it('maps codes to classified HestiaErrors with the Error: line and the command name', () => {
    const cases: [number, string, 'retryable' | 'terminal'][] = [
      [1, 'E_ARGS', 'terminal'], [2, 'E_INVALID', 'terminal'], [3, 'E_NOTEXIST', 'terminal'], [4, 'E_EXISTS', 'terminal'],
      [8, 'E_LIMIT', 'terminal'], [9, 'E_PASSWORD', 'terminal'], [10, 'E_FORBIDEN', 'terminal'], [11, 'E_DISABLED', 'terminal'],
      [14, 'E_LA', 'retryable'], [15, 'E_CONNECT', 'retryable'], [20, 'E_RESTART', 'retryable'], [99, 'E_UNKNOWN', 'terminal'],
    ];
    for (const [code, name, kind] of cases) {
      const e = hestiaError(code, `some noise\nError: thing went wrong (${name})\n`, 'v-add-web-domain', 'node1');
      assert.ok(isHestiaError(e));
      assert.equal(e.code, code);
      assert.equal(e.codeName, name);
      assert.equal(classifyError(e), kind);
      assert.ok(kind === 'retryable' ? e instanceof RetryableError : e instanceof TerminalError);
      assert.equal(e.errorLine, `Error: thing went wrong (${name})`);
      assert.equal(e.message, `v-add-web-domain on node1 failed with ${name} (${code}): Error: thing went wrong (${name})`);
    }
    const usage = hestiaError(1, 'Usage: v-add-user USER PASSWORD EMAIL [PACKAGE] [NAME] [LASTNAME]\n', 'v-add-user', 'n');
    assert.match(usage.errorLine!, /^Usage: v-add-user/);
    assert.ok(hasHestiaCode(hestiaError(3, "Error: user bob doesn't exist", 'v-list-user', 'n'), 'E_NOTEXIST', 'E_EXISTS'));
    assert.ok(!hasHestiaCode(hestiaError(2, '', 'v-list-user', 'n'), 'E_EXISTS'));
    assert.equal(hestiaError(13, '', 'v-x', 'n').errorLine, null);
  });
});

describe('Hestia JSON', () => {
  it('parses real shapes: v-list-user, empty lists, sys-info, DKIM, DNS records', () => {
    const user = `{
    "alice": {
        "NAME": "Alice",
        "PACKAGE": "default",
        "U_DISK": "0",
        "WEB_DOMAINS": "unlimited"
    }
}`;
    assert.deepEqual(parseHestiaJson(user), { alice: { NAME: 'Alice', PACKAGE: 'default', U_DISK: '0', WEB_DOMAINS: 'unlimited' } });
    assert.deepEqual(parseHestiaJson('{\n}\n'), {});
    assert.deepEqual(parseHestiaJson(''), {});
    const sys = `{
    "sysinfo": {
        "HOSTNAME": "node1",
        "LOADAVERAGE": "0.1 / 0.2 / 0.3"
        }
}`;
    assert.equal(parseHestiaJson(sys).sysinfo!.LOADAVERAGE, '0.1 / 0.2 / 0.3');
    const dkim = `{\n\n\t"mail._domainkey": {\n            "TTL": "3600",\n            "TXT": "'v=DKIM1; k=rsa; p=MIIB'"\n\t}\n}\n`;
    assert.deepEqual(parseHestiaJson(dkim), { 'mail._domainkey': { TTL: '3600', TXT: "'v=DKIM1; k=rsa; p=MIIB'" } });
    const records = `{
    "1": {
        "RECORD": "@",
        "VALUE": "\\"v=spf1 a mx -all\\"",
        "TTL": "14400"
    },
    "2": {
        "RECORD": "_dmarc",
        "VALUE": "v=DMARC1;\\u0009p=none",
        "TTL": "14400"
    }
}`;
    const r = parseHestiaJson(records);
    assert.equal(r['1']!.VALUE, '"v=spf1 a mx -all"');
    assert.equal(r['2']!.VALUE, 'v=DMARC1;\tp=none');
  });

  it('falls back to the line parser when a value holds an unescaped quote or backslash', () => {
    const broken = `{
    "bob": {
        "NAME": "Bob "the" Builder",
        "CONTACT": "bob@example.com",
        "PATH": "C:\\dir"
    },
    "carol": {
        "NAME": "Carol",
        "CONTACT": "carol@example.com"
    }
}`;
    assert.throws(() => JSON.parse(broken));
    assert.deepEqual(parseHestiaJson(broken, 'v-list-users'), {
      bob: { NAME: 'Bob "the" Builder', CONTACT: 'bob@example.com', PATH: 'C:\\dir' },
      carol: { NAME: 'Carol', CONTACT: 'carol@example.com' },
    });
  });

  it('keeps only the fields asked for, from valid JSON and from the line parser alike', () => {
    const listing = `{
    "alice": {
        "NAME": "Alice",
        "U_DISK": "12",
        "U_BANDWIDTH": "34"
    },
    "bob": {
        "NAME": "Bob "the" Builder",
        "U_DISK": "5"
    }
}`;
    const fields = ['U_DISK', 'U_BANDWIDTH'];
    assert.deepEqual(parseHestiaJson(listing, 'v-list-users', fields), { alice: { U_DISK: '12', U_BANDWIDTH: '34' }, bob: { U_DISK: '5' } }, 'line parser');
    const valid = listing.replace('Bob "the" Builder', 'Bob');
    assert.deepEqual(parseHestiaJson(valid, 'v-list-users', fields), { alice: { U_DISK: '12', U_BANDWIDTH: '34' }, bob: { U_DISK: '5' } }, 'JSON.parse');
    assert.deepEqual(parseHestiaJson(valid, 'v-list-users'), { alice: { NAME: 'Alice', U_DISK: '12', U_BANDWIDTH: '34' }, bob: { NAME: 'Bob', U_DISK: '5' } }, 'every field without a list');
    assert.throws(() => parseHestiaJson('[1]', 'v-list-users', fields), HestiaParseError);
  });

  it('gives a clear error on odd output instead of crashing', () => {
    for (const odd of ['Error: user x doesn\'t exist', '[1,2]', '{\n  "a": {\n    "B": "c"\n', '{\n "a": "b"\n}', '{\n}\n trailing', 'null']) {
      assert.throws(() => parseHestiaJson(odd, 'v-list-users'), (e: unknown) => e instanceof HestiaParseError && e instanceof TerminalError && /could not parse the JSON output of v-list-users: /.test(e.message), JSON.stringify(odd));
    }
  });
});
