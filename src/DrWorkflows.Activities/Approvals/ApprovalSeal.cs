using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace DrWorkflows.Activities.Approvals;

/// <summary>
/// Proves to the gate that a decision was checked by the approval service (channel signature or API role,
/// approver list, self-approval) and not pushed through the generic bookmark-resume route. The service signs
/// the decision with a key that exists only in this process's memory; the gate runs in the same call
/// (<c>WorkflowRuntime.ResumeAsync</c> executes the resumed step before it returns), so no other process ever
/// needs the key. A decision without a valid seal is refused by the gate and recorded as refused.
/// </summary>
public sealed class ApprovalSeal : IDisposable
{
    private readonly HMACSHA256 hmac = new(RandomNumberGenerator.GetBytes(32));
    private readonly Lock sync = new();

    public string Sign(string bookmarkId, JsonNode decision)
    {
        var data = Encoding.UTF8.GetBytes(bookmarkId + "\n" + EvidenceHash.Canonical(decision));
        lock (sync)
            return Convert.ToHexStringLower(hmac.ComputeHash(data));
    }

    public bool Verify(string bookmarkId, JsonNode? decision, string? seal)
    {
        if (decision is null || string.IsNullOrEmpty(seal) || seal.Length != 64 || !seal.All(Uri.IsHexDigit))
            return false;
        return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(Sign(bookmarkId, decision)), Convert.FromHexString(seal));
    }

    public void Dispose() => hmac.Dispose();
}
