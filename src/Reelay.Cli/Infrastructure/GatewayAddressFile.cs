namespace Reelay.Cli.Infrastructure;

/// <summary>
/// <c>&lt;data&gt;/reelay.address</c>: where the <c>reelay serve</c> that owns a data folder listens, written once it is
/// ready and deleted when it stops, so that <c>reelay generate</c> without --url can use that gateway instead of starting a
/// second one on the same folder. Only a hint: a file left by a crash names an address nobody answers on.
/// </summary>
internal sealed class GatewayAddressFile(string dataPath)
{
    public const string FileName = "reelay.address";

    public string Path { get; } = System.IO.Path.Combine(dataPath, FileName);

    public void Write(Uri? address)
    {
        if (address is null)
        {
            return;
        }

        try
        {
            File.WriteAllText(Path, address.AbsoluteUri + "\n");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only a hint for generate; the gateway runs without it.
        }
    }

    public void Delete()
    {
        try
        {
            File.Delete(Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The recorded address, or null when there is none (or it is not an http URL).</summary>
    public Uri? Read()
    {
        try
        {
            var text = File.ReadAllText(Path).Trim();
            return Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) ? uri : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
