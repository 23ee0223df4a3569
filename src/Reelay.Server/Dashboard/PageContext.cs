using Reelay.Engine;

namespace Reelay.Server.Dashboard;

/// <summary>What every dashboard page needs besides its own model: who is signed in and the form token.</summary>
/// <param name="Caller">The signed-in caller; null on the sign-in page.</param>
/// <param name="CsrfFieldName">The antiforgery form field's name.</param>
/// <param name="CsrfToken">The antiforgery request token for this session.</param>
/// <param name="Title">The page title.</param>
/// <param name="Section">The navigation entry to mark as current.</param>
public sealed record PageContext(Caller? Caller, string CsrfFieldName, string CsrfToken, string Title, string Section);
