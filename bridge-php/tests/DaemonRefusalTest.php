<?php

use PHPUnit\Framework\TestCase;
use WHMCS\Module\Server\Hostbridge\DaemonClient;

/**
 * The daemon's refusal as the module shows it in WHMCS: the daemon's `error` already starts with
 * the field it blames ("product: must be …"), so the field is not repeated; it is added only for
 * an answer whose text does not name it. No daemon is needed.
 */
final class DaemonRefusalTest extends TestCase
{
    public function testTheFieldIsNotRepeatedWhenTheTextNamesIt(): void
    {
        self::assertSame(
            'product: disk_quota must be a whole number of MB or "unlimited"',
            DaemonClient::refusal(['error' => 'product: disk_quota must be a whole number of MB or "unlimited"', 'field' => 'product']),
        );
        self::assertSame(
            'admin.id: must be WHMCS\'s admin id, a positive whole number',
            DaemonClient::refusal(['error' => 'admin.id: must be WHMCS\'s admin id, a positive whole number', 'field' => 'admin.id']),
        );
        self::assertSame('the domain is already used by service 12', DaemonClient::refusal(['error' => 'the domain is already used by service 12']));
    }

    public function testTheFieldIsAddedWhenTheTextDoesNotNameIt(): void
    {
        self::assertSame('must be a positive whole number (field: id)', DaemonClient::refusal(['error' => 'must be a positive whole number', 'field' => 'id']));
        // A field name inside another word, or as the last part of a dotted one, is not a mention of it.
        self::assertSame('admin.id: is required (field: id)', DaemonClient::refusal(['error' => 'admin.id: is required', 'field' => 'id']));
        self::assertSame('invalid value (field: id)', DaemonClient::refusal(['error' => 'invalid value', 'field' => 'id']));
        self::assertSame('(field: product)', DaemonClient::refusal(['field' => 'product']));
        self::assertSame('', DaemonClient::refusal(['error' => ['not', 'text'], 'field' => '']));
    }
}
