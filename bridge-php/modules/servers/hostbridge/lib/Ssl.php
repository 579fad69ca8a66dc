<?php
/**
 * The customer's SSL box in the client area (hosting products): its forms post to the custom
 * function SslAction (hb_action = renew | upload-custom | remove-custom, hb_role = web | mail, the
 * certificate's fields as hbf_certificate, hbf_private_key, hbf_chain), which sends one signed
 * request, POST /v1/services/{id}/ssl/actions, and returns 'success' or the daemon's refusal in
 * the customer's words. The private key is a secret: it is masked in the Module Log like the
 * passwords, and never returned.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class Ssl
{
    public const ACTIONS = ['renew', 'upload-custom', 'remove-custom'];
    public const ROLES = ['web', 'mail'];
    /** The certificate's fields; nothing else of the request is forwarded. */
    public const FIELDS = ['certificate', 'private_key', 'chain'];
    /** A field's longest value (the daemon bounds them again). */
    public const MAX_FIELD = 65536;

    /** The daemon's fragment with WHMCS's CSRF token in every empty token input of its SSL forms. */
    public static function withToken(string $html, string $token): string
    {
        $token = preg_replace('/[^A-Za-z0-9]/', '', $token) ?? '';
        return str_replace('<input type="hidden" name="token" value="">', '<input type="hidden" name="token" value="' . $token . '">', $html);
    }

    /** The form's certificate fields from $_POST (hbf_<name>), as strings, bounded. */
    public static function fieldsOf(array $post): array
    {
        $fields = [];
        foreach (self::FIELDS as $name) {
            $v = $post['hbf_' . $name] ?? null;
            if (is_string($v) && $v !== '') {
                $fields[$name] = substr($v, 0, self::MAX_FIELD);
            }
        }
        return $fields;
    }

    /**
     * Sends one SSL action for the logged-in client: 'success' or the refusal as the customer reads it.
     * The key travels in the body only and is masked in the Module Log (request and answers).
     */
    public static function action(array $params, string $action, string $role, array $fields): string
    {
        if (!in_array($action, self::ACTIONS, true)) {
            return 'Unknown action.';
        }
        if (!in_array($role, self::ROLES, true)) {
            return 'Unknown certificate.';
        }
        $secrets = Params::secretsOf($params);
        if (isset($fields['private_key'])) {
            $secrets[] = $fields['private_key'];
        }
        $request = ['method' => 'POST', 'url' => null, 'path' => null, 'body' => null];
        $response = '';
        $ok = false;
        $error = '';
        try {
            $client = DaemonClient::fromParams($params);
            $p = new Params($params);
            $request['url'] = $client->baseUrl();
            $request['path'] = '/v1/services/' . $p->serviceId() . '/ssl/actions';
            $body = [
                'action' => $action, 'role' => $role, 'fields' => $fields === [] ? new \stdClass() : $fields,
                'actor' => 'WHMCS client #' . (int) $p->int('userid'),
            ];
            $answer = $client->request('POST', $request['path'], $body);
            // The log shows which fields were sent; the key is masked whatever its key name.
            $request['body'] = array_merge($body, ['fields' => array_map(static fn ($v) => Text::scrub((string) $v, $secrets), $fields)]);
            $response = $answer['raw'];
            $ok = true;
        } catch (DaemonError $e) {
            $response = $e->responseBody !== '' ? $e->responseBody : $e->getMessage();
            $error = 'hostbridge: ' . $e->getMessage();
        } catch (\Throwable $e) {
            $response = get_class($e) . ': ' . $e->getMessage();
            $error = 'hostbridge: unexpected error in the module: ' . $e->getMessage();
        }
        $error = Text::scrub($error, $secrets);
        if ($request['body'] === null && isset($body)) {
            $request['body'] = array_merge($body, ['fields' => array_map(static fn ($v) => Text::scrub((string) $v, $secrets), $fields)]);
        }
        ModuleLog::write('SslAction', $request, (string) $response, $ok ? 'success' : $error, $secrets);
        return $ok ? 'success' : VmPanel::customerMessage($error);
    }
}
