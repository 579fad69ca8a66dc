<?php
/**
 * The one place the hostbridge modules read loose values and hide secrets: the coercion of whatever
 * WHMCS (or a JSON answer) hands over into strings, ids and tick boxes, and the masker every Module
 * Log and Activity Log entry goes through. The server module, its HTTP client and the addon all use it.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class Text
{
    /** What a secret is replaced with. */
    public const MASK = '********';
    /** Shorter strings are not masked by value: they would garble ordinary words (and sign nothing). */
    public const MIN_SECRET_LENGTH = 6;

    /**
     * A value as a string: '' for null, arrays and objects; a bool as WHMCS writes a tick box ('on'
     * or ''); anything else cast, trimmed unless $trim is false (passwords are sent as typed).
     */
    public static function str($v, bool $trim = true): string
    {
        if (!is_scalar($v)) {
            return '';
        }
        if (is_bool($v)) {
            return $v ? 'on' : '';
        }
        return $trim ? trim((string) $v) : (string) $v;
    }

    /** A whole number from an int, a string of digits or a float without a fraction; null otherwise. */
    public static function int($v): ?int
    {
        if (is_int($v)) {
            return $v;
        }
        if (is_string($v) && preg_match('/^\s*\d{1,18}\s*$/', $v)) {
            return (int) $v;
        }
        if (is_float($v) && floor($v) === $v) {
            return (int) $v;
        }
        return null;
    }

    /** A tick box or "secure" flag: true, 1, or "on", "1", "true", "yes" in any case. */
    public static function isOn($v): bool
    {
        if (is_bool($v)) {
            return $v;
        }
        if (is_int($v)) {
            return $v === 1;
        }
        return is_string($v) && in_array(strtolower(trim($v)), ['on', '1', 'true', 'yes'], true);
    }

    /**
     * The non-empty values of $keys in $values, as typed: the list to mask, and logModuleCall's
     * $replaceVars (WHMCS masks them again when it writes the Module Log).
     *
     * @return list<string>
     */
    public static function secrets(array $values, array $keys): array
    {
        $out = [];
        foreach ($keys as $k) {
            $v = self::str($values[$k] ?? null, false);
            if ($v !== '') {
                $out[] = $v;
            }
        }
        return array_values(array_unique($out));
    }

    /** $text with every secret of MIN_SECRET_LENGTH characters or more replaced by MASK. */
    public static function scrub(string $text, array $secrets): string
    {
        foreach ($secrets as $s) {
            if (is_string($s) && strlen($s) >= self::MIN_SECRET_LENGTH) {
                $text = str_replace($s, self::MASK, $text);
            }
        }
        return $text;
    }

    /**
     * $value as it may be logged: strings scrubbed of the secrets, and arrays and objects walked to
     * any depth, where every entry whose key names a password is MASK whatever it holds (a password
     * the module sends is masked even when it is too short to scrub).
     */
    public static function mask($value, array $secrets)
    {
        if (is_string($value)) {
            return self::scrub($value, $secrets);
        }
        if ($value instanceof \stdClass) {
            return (object) self::mask((array) $value, $secrets);
        }
        if (!is_array($value)) {
            return $value;
        }
        foreach ($value as $k => $v) {
            $value[$k] = is_string($k) && stripos($k, 'password') !== false ? self::MASK : self::mask($v, $secrets);
        }
        return $value;
    }
}
