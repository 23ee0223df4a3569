using Microsoft.AspNetCore.Http;
using Reelay.Engine;

namespace Reelay.Server.Auth;

/// <summary>Turns a request's credentials into a <see cref="Caller"/>. Accepts "Authorization: Bearer KEY" (and a raw key, as ModelVerse clients send).</summary>
public sealed class ApiKeyAuthenticator(AdminKey adminKey)
{
    private const string CallerItem = "reelay.caller";

    /// <summary>The caller, or null when the request carries no valid key.</summary>
    public Caller? Authenticate(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Items.TryGetValue(CallerItem, out var cached) && cached is Caller known)
        {
            return known;
        }

        var header = context.Request.Headers.Authorization;
        if (header.Count != 1 || header[0] is not { Length: > 0 } value)
        {
            return null;
        }

        var token = value.AsSpan().Trim();
        if (token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = token[7..].Trim();
        }

        if (!adminKey.Matches(token))
        {
            return null;
        }

        context.Items[CallerItem] = Caller.Admin;
        return Caller.Admin;
    }
}
