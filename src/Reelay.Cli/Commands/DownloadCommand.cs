using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay download ID</c>: save a completed video, its thumbnail or its spritesheet.</summary>
internal static class DownloadCommand
{
    public static Command Create(CliContext context)
    {
        var id = new Argument<string>("id") { Description = "The video id (video_...)." };
        var variant = new Option<string>("--variant") { Description = "video (MP4), thumbnail (WebP) or spritesheet (WebP grid of ten frames).", HelpName = "video|thumbnail|spritesheet", DefaultValueFactory = _ => "video" };
        variant.AcceptOnlyFromAmong("video", "thumbnail", "spritesheet");
        var output = new Option<string?>("--output", "-o") { Description = "Where to save it (default: <id>.mp4, <id>.webp for the thumbnail, <id>.spritesheet.webp for the spritesheet; .jpg for stills of videos made before WebP).", HelpName = "PATH" };
        var connection = new ConnectionOptions(context, $"Gateway address (default: ${ConnectionOptions.UrlVariable}, else http://127.0.0.1:8080).");
        var command = new Command("download", "Download a completed video, its thumbnail or its spritesheet.") { id, variant, output };
        connection.AddTo(command);
        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var client = connection.CreateClient(parseResult);
            var videoId = parseResult.GetValue(id)!;
            var name = parseResult.GetValue(variant)!;
            var (which, extension) = name switch
            {
                "thumbnail" => (VideoVariant.Thumbnail, ".webp"),
                "spritesheet" => (VideoVariant.Spritesheet, ".spritesheet.webp"),
                _ => (VideoVariant.Video, ".mp4"),
            };
            var chosen = parseResult.GetValue(output);
            var path = Path.GetFullPath(chosen ?? videoId + extension);
            var bytes = await client.DownloadContentToFileAsync(videoId, path, which, cancellationToken).ConfigureAwait(false);
            if (chosen is null && which != VideoVariant.Video && IsJpeg(path))
            {
                // A still of a video finished before stills became WebP: name it for what it is.
                var jpeg = Path.ChangeExtension(path, ".jpg");
                File.Move(path, jpeg, overwrite: true);
                path = jpeg;
            }
            await context.Error.WriteLineAsync($"saved {bytes:N0} bytes").ConfigureAwait(false);
            await context.Output.WriteLineAsync($"{name}: {path}").ConfigureAwait(false);
            return ReelayCli.ExitOk;
        });
        return command;
    }

    private static bool IsJpeg(string path)
    {
        Span<byte> head = stackalloc byte[3];
        using var file = File.OpenRead(path);
        return file.ReadAtLeast(head, 3, throwOnEndOfStream: false) == 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
    }
}
