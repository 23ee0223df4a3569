namespace Reelay.Cli.Infrastructure;

/// <summary>The command line is wrong in a way only found at run time; exits 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>The command could not do its work for a reason that is not an API error; exits 1.</summary>
internal sealed class CliFailureException(string message, Exception? inner = null) : Exception(message, inner);
