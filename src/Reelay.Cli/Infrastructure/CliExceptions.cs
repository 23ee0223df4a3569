namespace Reelay.Cli.Infrastructure;

/// <summary>The command line is wrong in a way only found at run time; exits 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The command could not do its work for a reason that is not an API error; exits 1.</summary>
internal sealed class CliFailureException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An in-process gateway failed to start in a known way; its one line and exit code are in <see cref="Failure"/>.</summary>
internal sealed class GatewayStartException(StartupFailure failure, Exception inner) : Exception(failure.Line, inner)
{
    public StartupFailure Failure { get; } = failure;
}
