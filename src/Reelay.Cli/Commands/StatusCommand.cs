using System.CommandLine;
using Reelay.Cli.Infrastructure;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay status ID</c>: one video's state.</summary>
internal static class StatusCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "The video id (video_...)." };
        var connection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        var command = new Command("status", "Show a video's status, progress and error.") { id };
        connection.AddTo(command);
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var video = await client.GetVideoAsync(parseResult.GetValue(id)!, cancellationToken).ConfigureAwait(false);
            context.OutConsole.Write(VideoTables.Details(video));
            return ReelayCli.ExitOk;
        });
        return command;
    }
}
