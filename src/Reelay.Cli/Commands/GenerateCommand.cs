using System.CommandLine;
using Reelay.Cli.Infrastructure;
using Reelay.Client;

namespace Reelay.Cli.Commands;

/// <summary><c>reelay generate</c>: submit a job, show its progress, download the video.</summary>
internal static class GenerateCommand
{
    public static Command Create(CliContext context)
    {
        var prompt = new Option<string?>("--prompt", "-p") { Description = "What to generate.", HelpName = "TEXT" };
        var model = new Option<string>("--model", "-m") { Description = "Model name (see: reelay models).", HelpName = "MODEL", DefaultValueFactory = _ => "sandbox" };
        var seconds = new Option<int?>("--seconds", "-s") { Description = "Duration in seconds (default: the model's).", HelpName = "N" };
        var size = new Option<string?>("--size") { Description = "Output size WIDTHxHEIGHT, e.g. 1280x720 (default: the model's).", HelpName = "WxH" };
        var image = new Option<string?>("--image", "-i") { Description = "First frame: a local image file, or an http(s):// or data: URL.", HelpName = "PATH|URL" };
        var seed = new Option<long?>("--seed") { Description = "Seed, for models that take one.", HelpName = "N" };
        var characters = new Option<string[]>("--character") { Description = "A character to show (id from: reelay characters create); repeat for several.", HelpName = "ID" };
        var output = new Option<string?>("--output", "-o") { Description = "Where to save the MP4 (default: <id>.mp4).", HelpName = "PATH" };
        var data = new Option<string?>("--data")
        {
            Description = "Data directory of the in-process gateway (only without --url / REELAY_URL). Default: the running `reelay serve` of the configured data folder when there is one and a key, else a private temporary folder.",
            HelpName = "DIR",
        };
        var connection = new ConnectionOptions(context, "Gateway address (default: $REELAY_URL; with neither, the running `reelay serve` of the data folder when a key is given, else an in-process gateway on a private folder).");

        seconds.CustomParser = OptionParsers.PositiveInt;
        size.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && !IsSize(value))
            {
                result.AddError($"--size '{value}' is not WIDTHxHEIGHT, e.g. 1280x720.");
            }
        });
        image.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && !IsUrl(value) && !File.Exists(value))
            {
                result.AddError($"--image '{value}' is neither an existing file nor an http(s):// or data: URL.");
            }
        });

        var command = new Command("generate", "Generate a video, show its progress, and save it.")
        {
            prompt, model, seconds, size, image, seed, characters, output, data,
        };
        connection.AddTo(command);
        command.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValue(prompt)) && string.IsNullOrWhiteSpace(result.GetValue(image)))
            {
                result.AddError("Give --prompt (text-to-video), --image (image-to-video), or both.");
            }
        });

        command.SetHandler(context, async (parseResult, cancellationToken) =>
        {
            var request = new CreateVideoRequest
            {
                Model = parseResult.GetValue(model),
                Prompt = parseResult.GetValue(prompt),
                Seconds = parseResult.GetValue(seconds),
                Size = parseResult.GetValue(size),
                Seed = parseResult.GetValue(seed),
                Characters = parseResult.GetValue(characters) is { Length: > 0 } ids ? ids : null,
            };
            if (parseResult.GetValue(image) is { } imageValue)
            {
                if (IsUrl(imageValue))
                {
                    request.ImageUrl = imageValue;
                }
                else
                {
                    request.ImageFile = imageValue;
                }
            }

            var outputPath = parseResult.GetValue(output);
            string OutputFor(Video video) => outputPath ?? $"{video.Id}.mp4";

            var url = connection.ResolveUrlOrNull(parseResult);
            var dataDirectory = parseResult.GetValue(data);
            if (url is not null)
            {
                if (dataDirectory is not null)
                {
                    throw new UsageException("--data applies only to the in-process gateway; drop --url (and REELAY_URL) to use it.");
                }

                var client = connection.CreateClient(url, connection.ResolveKey(parseResult));
                return await VideoJobRunner.RunAsync(context, client, request, OutputFor, cancellationToken).ConfigureAwait(false);
            }

            if (dataDirectory is null)
            {
                // The configured data folder belongs to `reelay serve` when one runs: use that gateway when it can be reached
                // with a key, and otherwise a private folder, never a second writer on the same one.
                var key = connection.ResolveKey(parseResult);
                var running = await RunningGateway.FindAsync(context, key, cancellationToken).ConfigureAwait(false);
                if (running is not null)
                {
                    await context.Error.WriteLineAsync($"gateway: {running} (the running `reelay serve` on the data folder)").ConfigureAwait(false);
                    var client = connection.CreateClient(running, key);
                    return await VideoJobRunner.RunAsync(context, client, request, OutputFor, cancellationToken).ConfigureAwait(false);
                }

                var temporary = Path.Combine(Path.GetTempPath(), "reelay-generate-" + Guid.NewGuid().ToString("N"));
                try
                {
                    return await RunInProcessAsync(temporary).ConfigureAwait(false);
                }
                finally
                {
                    TryDeleteDirectory(temporary);
                }
            }

            return await RunInProcessAsync(dataDirectory).ConfigureAwait(false);

            async Task<int> RunInProcessAsync(string folder)
            {
                var gateway = await EmbeddedGateway.StartAsync(context, folder, cancellationToken).ConfigureAwait(false);
                await using (gateway.ConfigureAwait(false))
                {
                    var client = connection.CreateClient(gateway.Address, gateway.ApiKey);
                    return await VideoJobRunner.RunAsync(context, client, request, OutputFor, cancellationToken).ConfigureAwait(false);
                }
            }
        });
        return command;
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A private scratch folder under the temp directory; the OS cleans what is left.
        }
    }

    internal static bool IsUrl(string value) =>
        value.StartsWith("data:", StringComparison.OrdinalIgnoreCase)
        || ((value.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || value.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            && Uri.TryCreate(value, UriKind.Absolute, out _));

    internal static bool IsSize(string value)
    {
        var parts = value.Split('x');
        return parts.Length == 2 && parts.All(p => p.Length is > 0 and <= 5 && p.All(char.IsAsciiDigit) && int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) > 0);
    }
}
