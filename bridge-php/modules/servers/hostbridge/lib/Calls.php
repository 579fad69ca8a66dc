<?php
/**
 * The signed call-and-answer wrapper every entry point uses: one request to the daemon, written to
 * the Module Log with the secrets masked, and never an exception (a failure becomes the readable
 * "hostbridge: …" text that WHMCS shows). Paths and bodies are built from $params inside the
 * wrapper, so even a missing service id ends up in the Module Log and in that text.
 */

namespace WHMCS\Module\Server\Hostbridge;

final class Calls
{
    /**
     * One lifecycle action: 'success', or "hostbridge: <reason>" (WHMCS's convention for module commands).
     *
     * @param string|callable(Params): string $path  the path, or a function that builds it
     * @param null|callable(Params): array    $build a function that builds the body (null: no body)
     */
    public static function action(array $params, string $action, string $method, $path, ?callable $build): string
    {
        $r = self::run($params, $action, $method, $path, $build);
        return $r['ok'] ? 'success' : $r['error'];
    }

    /** POST /v1/services/{serviceid}/{suffix} with the body $build builds ({} when none). */
    public static function serviceAction(array $params, string $action, string $suffix, ?callable $build = null): string
    {
        $path = static fn (Params $p): string => '/v1/services/' . $p->serviceId() . '/' . $suffix;
        return self::action($params, $action, 'POST', $path, $build ?? static fn (Params $p): array => []);
    }

    /**
     * Sends one signed request, logs it (masked) and never throws.
     *
     * @param string|callable(Params): string $path
     * @param null|callable(Params): array    $build
     * @return array{ok:bool, data:?array, error:string}
     */
    public static function run(array $params, string $action, string $method, $path, ?callable $build): array
    {
        $secrets = Params::secretsOf($params);
        $request = ['method' => $method, 'url' => null, 'path' => null, 'body' => null];
        $response = '';
        $processed = '';
        $result = ['ok' => false, 'data' => null, 'error' => ''];
        try {
            $client = DaemonClient::fromParams($params);
            $request['url'] = $client->baseUrl();
            $p = new Params($params);
            $request['path'] = is_callable($path) ? $path($p) : (string) $path;
            $request['body'] = $build === null ? null : $build($p);
            $answer = $client->request($method, $request['path'], $request['body']);
            $response = $answer['raw'];
            $processed = $answer['data'];
            $result = ['ok' => true, 'data' => $answer['data'], 'error' => ''];
        } catch (DaemonError $e) {
            $response = $e->responseBody !== '' ? $e->responseBody : $e->getMessage();
            $result['error'] = 'hostbridge: ' . $e->getMessage();
        } catch (\Throwable $e) {
            $response = get_class($e) . ': ' . $e->getMessage();
            $result['error'] = 'hostbridge: unexpected error in the module: ' . $e->getMessage();
        }
        $result['error'] = Text::scrub($result['error'], $secrets);
        if (!$result['ok']) {
            $processed = $result['error'];
        }
        ModuleLog::write($action, $request, (string) $response, $processed, $secrets);
        return $result;
    }
}
