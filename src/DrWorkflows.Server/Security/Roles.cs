namespace DrWorkflows.Server.Security;

/// <summary>
/// Roles carried by API keys and users. Each role includes the ones before it in <see cref="Ladder"/>, except
/// <see cref="Approver"/>, which only adds the right to decide approval gates.
/// </summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Designer = "designer";
    public const string Operator = "operator";
    public const string Approver = "approver";
    public const string Admin = "admin";

    public static IReadOnlyList<string> All { get; } = [Viewer, Designer, Operator, Approver, Admin];

    /// <summary>Policy names: a policy admits its own role and every role above it.</summary>
    public static IReadOnlyList<string> Ladder { get; } = [Viewer, Designer, Operator, Admin];

    /// <summary>The roles admitted by a policy named after <paramref name="role"/>.</summary>
    public static string[] Admitting(string role) => role switch
    {
        Viewer => [Viewer, Designer, Operator, Approver, Admin],
        Designer => [Designer, Admin],
        Operator => [Operator, Admin],
        Approver => [Approver, Admin],
        _ => [Admin],
    };
}
