<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\ModuleLog;
use WHMCS\Module\Server\Hostbridge\Text;

/**
 * The text/masking helper shared by the server module, its HTTP client and the addon
 * (modules/servers/hostbridge/lib/Text.php): the coercion of the odd values WHMCS passes, and the
 * masking of secrets in strings and in nested arrays and objects. No daemon is needed.
 */
final class TextTest extends TestCase
{
    private const SECRET = 'shared-secret-0123456789abcdef';
    private const PASSWORD = 'Cl1ent-Pa55word!xyz';

    protected function setUp(): void
    {
        $GLOBALS['hostbridge_test_module_log'] = [];
    }

    public function testStrCoercesTheOddTypesWhmcsPasses(): void
    {
        $cases = [
            [null, ''],
            [[], ''],
            [['x'], ''],
            [new stdClass(), ''],
            [true, 'on'], // a ticked yesno box, as WHMCS stores it
            [false, ''],
            [0, '0'],
            [17, '17'],
            [2.5, '2.5'],
            ['  example.test ', 'example.test'],
            ['', ''],
        ];
        foreach ($cases as [$in, $out]) {
            self::assertSame($out, Text::str($in), var_export($in, true));
        }
        self::assertSame(' pass word ', Text::str(' pass word ', false), 'a password is kept as typed');
        self::assertSame('', Text::str(null, false));
        self::assertSame('on', Text::str(true, false));
    }

    public function testIntAcceptsWholeNumbersOnly(): void
    {
        $cases = [
            [17, 17], ['17', 17], [' 17 ', 17], [17.0, 17], ['0', 0],
            [17.5, null], ['-1', null], ['1e3', null], ['abc', null], ['', null], [null, null],
            [true, null], [[17], null], [str_repeat('9', 19), null],
        ];
        foreach ($cases as [$in, $out]) {
            self::assertSame($out, Text::int($in), var_export($in, true));
        }
    }

    public function testIsOnReadsTickBoxesAndFlags(): void
    {
        foreach ([true, 1, 'on', 'ON', ' on ', 'yes', 'true', '1'] as $on) {
            self::assertTrue(Text::isOn($on), var_export($on, true));
        }
        foreach ([false, 0, 2, '', 'off', 'no', '0', null, [], ['on']] as $off) {
            self::assertFalse(Text::isOn($off), var_export($off, true));
        }
    }

    public function testSecretsAreTheNonEmptyValuesAsTyped(): void
    {
        $params = ['serverpassword' => self::SECRET, 'password' => ' ' . self::PASSWORD, 'serveraccesshash' => '', 'domain' => 'x.test'];
        self::assertSame([self::SECRET, ' ' . self::PASSWORD], Text::secrets($params, ['serverpassword', 'password', 'serveraccesshash']));
        self::assertSame([self::SECRET], Text::secrets(['a' => self::SECRET, 'b' => self::SECRET, 'c' => ['nested']], ['a', 'b', 'c', 'missing']));
        self::assertSame([], Text::secrets([], ['serverpassword']));
    }

    public function testScrubMasksEverySecretInAString(): void
    {
        $text = 'secret ' . self::SECRET . ', password ' . self::PASSWORD . ', again ' . self::SECRET;
        $scrubbed = Text::scrub($text, [self::SECRET, self::PASSWORD]);
        self::assertSame('secret ********, password ********, again ********', $scrubbed);
        // Strings shorter than 6 characters would garble ordinary words: they are left alone.
        self::assertSame('the daemon answered', Text::scrub('the daemon answered', ['the', 'daemo', '']));
        self::assertSame('abcdef', Text::scrub('abcdef', []));
    }

    public function testMaskWalksNestedArraysAndObjects(): void
    {
        $secrets = [self::SECRET, self::PASSWORD];
        $value = [
            'method' => 'POST',
            'url' => 'http://daemon.test:8740',
            'body' => [
                'service_id' => 4711,
                'password' => 'short', // masked by its key, although too short to scrub
                'note' => 'was ' . self::PASSWORD,
                'product' => (object) [
                    'configoption1' => 'split',
                    'deep' => ['list' => ['x', 'token ' . self::SECRET], 'NewPassword' => null],
                ],
                'flags' => [true, 1.5, null],
            ],
        ];
        $masked = Text::mask($value, $secrets);
        self::assertSame('POST', $masked['method']);
        self::assertSame(4711, $masked['body']['service_id']);
        self::assertSame('********', $masked['body']['password']);
        self::assertSame('was ********', $masked['body']['note']);
        self::assertInstanceOf(stdClass::class, $masked['body']['product'], 'an object stays an object (a JSON object in the log)');
        self::assertSame('split', $masked['body']['product']->configoption1);
        self::assertSame(['x', 'token ********'], $masked['body']['product']->deep['list']);
        self::assertSame('********', $masked['body']['product']->deep['NewPassword'], 'password keys match in any case');
        self::assertSame([true, 1.5, null], $masked['body']['flags']);
        $text = json_encode($masked);
        self::assertFalse(str_contains($text, self::SECRET));
        self::assertFalse(str_contains($text, self::PASSWORD));
        // The value sent is untouched: masking works on a copy.
        self::assertSame('was ' . self::PASSWORD, $value['body']['note']);
        self::assertSame('split', Text::mask('split', $secrets));
        self::assertSame('********', Text::mask(self::SECRET, $secrets));
        self::assertSame(42, Text::mask(42, $secrets));
        self::assertNull(Text::mask(null, $secrets));
    }

    public function testEveryPartOfAModuleLogEntryIsMasked(): void
    {
        $params = ['serverpassword' => self::SECRET, 'password' => self::PASSWORD];
        ModuleLog::write('CreateAccount', ['body' => ['password' => self::PASSWORD, 'x' => [self::SECRET]]],
            'raw ' . self::SECRET, ['data' => ['echo' => self::PASSWORD]], Text::secrets($params, ['serverpassword', 'password']));
        ModuleLog::failure('UsageUpdate', 'write ' . self::SECRET, 'failed: ' . self::PASSWORD, $params);
        $log = $GLOBALS['hostbridge_test_module_log'];
        self::assertCount(2, $log);
        foreach ($log as $entry) {
            self::assertSame('hostbridge', $entry['module']);
            self::assertSame([self::SECRET, self::PASSWORD], $entry['replaceVars'], 'WHMCS is handed the secrets to mask again');
            $text = json_encode([$entry['request'], $entry['response'], $entry['processed']]);
            self::assertFalse(str_contains($text, self::SECRET), 'the shared secret reached the log');
            self::assertFalse(str_contains($text, self::PASSWORD), 'the password reached the log');
        }
        self::assertSame(['body' => ['password' => '********', 'x' => ['********']]], $log[0]['request']);
        self::assertSame('raw ********', $log[0]['response']);
        self::assertSame('failed: ********', $log[1]['processed']);
    }
}
