<?php
/**
 * Reading the $params WHMCS passes to every module function (see the Module Parameters page of the
 * WHMCS developer docs). Any key may be missing or of an odd type; every reader returns a safe value,
 * except serviceId(), which throws the readable DaemonError the calling function returns.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class Params
{
    /** The $params that hold secrets: the shared secret (server password), the service's password, the access hash. */
    public const SECRET_KEYS = ['serverpassword', 'password', 'serveraccesshash'];

    private array $params;

    public function __construct(array $params)
    {
        $this->params = $params;
    }

    /** The strings of $params that must never reach a log. */
    public static function secretsOf(array $params): array
    {
        return Text::secrets($params, self::SECRET_KEYS);
    }

    /** A value as a string ('' when missing or not a scalar), trimmed unless $trim is false (passwords). */
    public function str(string $key, bool $trim = true): string
    {
        return Text::str($this->params[$key] ?? null, $trim);
    }

    public function int(string $key): ?int
    {
        return Text::int($this->params[$key] ?? null);
    }

    /** A number when the value is all digits, null when empty, else the trimmed string. */
    public function idOrString(string $key)
    {
        $n = $this->int($key);
        if ($n !== null) {
            return $n;
        }
        $s = $this->str($key);
        return $s === '' ? null : $s;
    }

    /**
     * The WHMCS service id (tblhosting.id) as a positive integer.
     *
     * @throws DaemonError when it is missing
     */
    public function serviceId(): int
    {
        $id = $this->int('serviceid');
        if ($id === null || $id <= 0) {
            throw new DaemonError('the service id (serviceid) is missing from the module parameters');
        }
        return $id;
    }

    /** The client's e-mail address (clientsdetails.email). */
    public function clientEmail(): string
    {
        $client = $this->params['clientsdetails'] ?? null;
        return Text::str(is_array($client) ? ($client['email'] ?? '') : '');
    }

    /**
     * What the daemon plans a service from: the product's Module Settings and the order's
     * configurable options and custom fields (CreateAccount and ChangePackage send the same three).
     *
     * @return array{product: object, config_options: object, custom_fields: object}
     */
    public function package(): array
    {
        return [
            'product' => $this->product(),
            'config_options' => $this->map('configoptions'),
            'custom_fields' => $this->map('customfields'),
        ];
    }

    /** configoption1..configoption24 of the product, as strings ('' when unset). */
    public function product(): object
    {
        $out = [];
        for ($i = 1; $i <= 24; $i++) {
            $out['configoption' . $i] = $this->str('configoption' . $i, false);
        }
        return (object) $out;
    }

    /** A name => value map (configurable options, custom fields) as a JSON object of scalars. */
    public function map(string $key): object
    {
        $out = [];
        $v = $this->params[$key] ?? null;
        if (is_array($v)) {
            foreach ($v as $name => $value) {
                if (is_scalar($value) || $value === null) {
                    $out[(string) $name] = $value ?? '';
                }
            }
        }
        return (object) $out;
    }
}
