{* hostbridge: shown instead of the service view when the daemon cannot answer. The message is plain
   text chosen by the module (no detail of the daemon, no secret); the detail is in the Module Log. *}
<div class="alert alert-warning hostbridge-error" role="alert">
    {$hostbridgeError|escape:'html'}
</div>
