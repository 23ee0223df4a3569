using System.CommandLine;
using Reelay.Cli.Infrastructure;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay cancel ID</c>.</summary>
internal static class CancelCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "The video id (video_...)." };
        var connection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        var command = new Command("cancel", "Cancel a video that has not finished.") { id };
        connection.AddTo(command);
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var video = await client.CancelVideoAsync(parseResult.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            await context.Output.WriteLineAsync($"{video.Id}: {video.Status}").ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }
}
