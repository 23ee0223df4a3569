using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using Reelay.Cli.Infrastructure;
using Reelay.Client;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay demo</c>: the whole loop in one command, offline, with the sandbox model.</summary>
internal static class DemoCommand
{
    public const string DefaultDataDirectory = "data/demo";
    public const string SampleFileName = "sample.png";

    public static Command Create(CliContext context)
    {
        var data = new Option<string?>("--data")
        {
            Description = $"Data directory for the demo's gateway, sample image and video (default: {DefaultDataDirectory}).",
            HelpName = "DIR",
        };
        var command = new Command("demo", "Start an in-process gateway, render a 4 s image-to-video clip with the sandbox model, and print its path.")
        {
            data,
        };

        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var dataDirectory = Path.GetFullPath(parseResult.GetValue(data) ?? DefaultDataDirectory);
            Directory.CreateDirectory(dataDirectory);

            var gateway = await EmbeddedGateway.StartAsync(context, dataDirectory, cancellationToken).ConfigureAwait(false);
            await using (gateway.ConfigureAwait(false))
            {
                await context.Error.WriteLineAsync($"gateway: {gateway.Address} (in-process, data in {dataDirectory})").ConfigureAwait(false);
                var ffmpeg = gateway.Configuration[$"{ReelayOptions.Section}:Sandbox:FfmpegPath"] ?? "ffmpeg";
                var sample = Path.Combine(dataDirectory, SampleFileName);
                await CreateSampleImageAsync(ffmpeg, sample, cancellationToken).ConfigureAwait(false);

                var request = new CreateVideoRequest
                {
                    Model = "sandbox",
                    Prompt = "Reelay demo: a slow push-in over a test pattern.",
                    Seconds = 4,
                    Size = "1280x720",
                    ImageFile = sample,
                    ImageContentType = "image/png",
                };
                var client = new ConnectionOptions(context, "").CreateClient(gateway.Address, gateway.ApiKey);
                return await VideoJobRunner.RunAsync(context, client, request, video => Path.Combine(dataDirectory, $"{video.Id}.mp4"), cancellationToken).ConfigureAwait(false);
            }
        });
        return command;
    }

    /// <summary>A 1280x720 first frame from ffmpeg's built-in test pattern.</summary>
    internal static async Task CreateSampleImageAsync(string ffmpeg, string path, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-y", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720", "-frames:v", "1", path })
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new CliFailureException($"Could not start '{ffmpeg}'.");
        }
        catch (Win32Exception ex)
        {
            throw new CliFailureException($"'{ffmpeg}' was not found; install ffmpeg or set Reelay__Sandbox__FfmpegPath.", ex);
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            var errors = (await stderr.ConfigureAwait(false)).Trim();
            await stdout.ConfigureAwait(false);
            if (process.ExitCode != 0 || !File.Exists(path))
            {
                throw new CliFailureException($"ffmpeg could not create the sample image (exit code {process.ExitCode}): {errors}");
            }
        }
    }
}
