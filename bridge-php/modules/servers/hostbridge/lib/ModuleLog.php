<?php
/**
 * The server module's writer of WHMCS's Module Log (logModuleCall): every part of an entry goes
 * through Text::mask first, the secrets go along as $replaceVars, and a failure to log never fails
 * the call that is being logged.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class ModuleLog
{
    public const MODULE = 'hostbridge';

    /** One entry; $secrets are masked in every part (and handed to WHMCS to mask again). */
    public static function write(string $action, $request, $response, $processed, array $secrets): void
    {
        try {
            if (function_exists('logModuleCall')) {
                logModuleCall(self::MODULE, $action, Text::mask($request, $secrets), Text::mask($response, $secrets),
                    Text::mask($processed, $secrets), $secrets);
            }
        } catch (\Throwable $e) {
            // The Module Log is an aid; a failure to write it must not fail the call.
        }
    }

    /** An entry for a failure that is not an HTTP call ($what says what failed). */
    public static function failure(string $action, string $what, string $message, array $params): void
    {
        self::write($action, $what, '', $message, Params::secretsOf($params));
    }
}
