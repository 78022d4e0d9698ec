using System.Text.Json.Nodes;

namespace Backprop.Nn;

/// <summary>
/// A building block of a network: it maps an input tensor to an output tensor and owns parameters (weights and
/// biases), never activations: whatever the backward pass needs is kept by the graph, so one module can be called
/// many times, from several threads, or shared between models.
/// </summary>
/// <remarks>
/// <para>A custom module needs only a constructor and <see cref="Forward(Tensor)"/>, as in PyTorch: its children, parameters,
/// buffers and random generators are found from its fields and properties (a <see cref="Module"/> field is a child, a
/// <see cref="Tensor"/> field a parameter unless marked <see cref="BufferAttribute"/> or
/// <see cref="ConstantAttribute"/>, an <see cref="Rng"/> field a generator, arrays, lists and string-keyed
/// dictionaries of them are named <c>field.0</c>, <c>field.key</c>). Override <see cref="Children"/>,
/// <see cref="OwnParameters"/>, <see cref="OwnBuffers"/> or <see cref="OwnGenerators"/> to declare them yourself.</para>
/// <para>Training or evaluation behaviour is read from <see cref="IsTraining"/> at each call. Inference
/// (<c>Predict</c>, <c>Evaluate</c>, <see cref="Predictor"/>) runs inside an <see cref="InferenceMode"/> scope, where
/// <see cref="IsTraining"/> is false on that thread without the model being changed; a module that behaves
/// differently while training (dropout, batch norm, a custom noise layer) must therefore read <see cref="IsTraining"/>
/// in <see cref="Forward(Tensor)"/> rather than keep a copy, and must not change its state when it is false. Calls in
/// evaluation mode may then run on many threads at once.</para>
/// </remarks>
public abstract partial class Module
{
    /// <summary>
    /// Computes the output for <paramref name="input"/>, recording the graph when gradients are on. A module with one
    /// input overrides this; one with several overrides <see cref="Forward(IReadOnlyList{Tensor})"/> instead, and one
    /// with several outputs <see cref="ForwardOutputs"/>.
    /// </summary>
    /// <exception cref="NotImplementedException">The module overrides no Forward.</exception>
    /// <exception cref="InvalidOperationException">The module returns several outputs (use <see cref="ForwardOutputs"/>).</exception>
    public virtual Tensor Forward(Tensor input)
    {
        var type = GetType();
        if (ModuleFields.OverridesListForward(type)) return Forward([input]);
        if (ModuleFields.OverridesForwardOutputs(type)) return OnlyOutput(ForwardOutputs([input]));
        throw new NotImplementedException($"{type.Name} overrides neither Forward(Tensor) nor Forward(IReadOnlyList<Tensor>) nor ForwardOutputs; a module computes its output in one of them.");
    }

    /// <summary>
    /// Computes the output for several inputs, e.g. a model fed an image and a table row, or two towers. Override it
    /// in a module that takes more than one tensor; <c>Fit</c>, <c>Evaluate</c> and <c>Predict</c> call it with a
    /// dataset's inputs (<see cref="Data.Dataset.Inputs"/>) in order. By default one input goes to
    /// <see cref="Forward(Tensor)"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The module takes one input but was given another number.</exception>
    /// <exception cref="InvalidOperationException">The module returns several outputs (use <see cref="ForwardOutputs"/>).</exception>
    public virtual Tensor Forward(IReadOnlyList<Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (ModuleFields.OverridesForwardOutputs(GetType())) return OnlyOutput(ForwardOutputs(inputs));
        if (inputs.Count != 1)
            throw new ArgumentException($"{GetType().Name} takes one input but was given {inputs.Count}; a module with several inputs overrides Forward(IReadOnlyList<Tensor>).");
        return Forward(inputs[0]);
    }

    /// <summary>
    /// Computes every output of the module, as PyTorch's <c>forward</c> returning a tuple: e.g. a class head and a box
    /// head, <c>[logits [N, C], box [N, 4]]</c>. Override it in a module with several outputs; <c>Fit</c> and
    /// <c>Evaluate</c> give output i to loss i of a <see cref="MultiOutputLoss"/> against the dataset's target i
    /// (<see cref="Data.Dataset.AllTargets"/>), and <c>PredictOutputs</c> returns them all. By default the single
    /// output of <see cref="Forward(IReadOnlyList{Tensor})"/>.
    /// </summary>
    public virtual IReadOnlyList<Tensor> ForwardOutputs(IReadOnlyList<Tensor> inputs) => [Forward(inputs)];

    // Forward on a module that returns its outputs as a list: the one output, or an error saying how to get several.
    private Tensor OnlyOutput(IReadOnlyList<Tensor> outputs) => outputs.Count == 1 ? outputs[0]
        : throw new InvalidOperationException($"{GetType().Name} returns {outputs.Count} outputs, so it has no single output: call CallOutputs (or ForwardOutputs) to get them all, or PredictOutputs to predict them.");

    /// <summary>
    /// Runs the module: <see cref="Forward(Tensor)"/> with its hooks around it (see <see cref="RegisterForwardHook"/>),
    /// as PyTorch's <c>module(x)</c>. Call children through it so their hooks fire.
    /// </summary>
    public Tensor Call(Tensor input) => preHooks is null && forwardHooks is null && backwardHooks is null ? Forward(input) : CallWithHooks(input);

    /// <summary>
    /// Runs a module with several inputs: <see cref="Forward(IReadOnlyList{Tensor})"/>, e.g.
    /// <c>model.Call(image, metadata)</c>. Hooks, which see one input, fire only for <see cref="Call(Tensor)"/>.
    /// </summary>
    public Tensor Call(params Tensor[] inputs) => Forward(inputs);

    /// <summary>
    /// Runs the module and returns every output (<see cref="ForwardOutputs"/>), e.g.
    /// <c>var (logits, box) = (outs[0], outs[1])</c> for <c>outs = model.CallOutputs(image)</c>. A call with one input
    /// to a module with one output goes through <see cref="Call(Tensor)"/>, hooks included.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The module has forward or backward hooks of its own, which see one input and one output, and this call has
    /// several inputs or the module several outputs: refused rather than skipping the hooks.
    /// </exception>
    public IReadOnlyList<Tensor> CallOutputs(params IReadOnlyList<Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        bool single = inputs.Count == 1 && !ModuleFields.OverridesForwardOutputs(GetType());
        if (single) return [Call(inputs[0])];
        if (HasForwardHooks || HasBackwardHooks)
            throw new InvalidOperationException($"{GetType().Name} has hooks, which see one input and one output, but this call has {inputs.Count} input{(inputs.Count == 1 ? "" : "s")} to a module that may return several outputs; register the hooks on its children instead.");
        return ForwardOutputs(inputs);
    }

    private bool training = true;

    /// <summary>
    /// Whether this call trains: the mode <see cref="Train"/>/<see cref="Eval"/> set (training by default), except
    /// inside an <see cref="InferenceMode"/> scope on the calling thread, where it is always false. Layers such as
    /// dropout and batch norm behave differently when it is false.
    /// </summary>
    public bool IsTraining => training && !InferenceMode.IsActive;

    /// <summary>Puts this module and its children in training mode.</summary>
    public void Train()
    {
        training = true;
        foreach (var (_, child) in Children()) child.Train();
    }

    /// <summary>Puts this module and its children in evaluation (inference) mode.</summary>
    public void Eval()
    {
        training = false;
        foreach (var (_, child) in Children()) child.Eval();
    }

    /// <summary>
    /// The modules directly inside this one, with their names (e.g. <c>"0"</c>, <c>"1"</c> in a Sequential). By
    /// default, the module-typed fields and properties, named as written (see the remarks on <see cref="Module"/>).
    /// </summary>
    public virtual IEnumerable<(string Name, Module Module)> Children() => ModuleFields.Children(this);

    /// <summary>
    /// This module's own parameters (not its children's), with their names. By default, its tensor-typed fields and
    /// properties, except those marked <see cref="BufferAttribute"/> or <see cref="ConstantAttribute"/> and those
    /// <see cref="OwnBuffers"/> lists.
    /// </summary>
    protected virtual IEnumerable<(string Name, Tensor Parameter)> OwnParameters()
    {
        var buffers = new HashSet<Tensor>(OwnBuffers().Select(b => b.Buffer), ReferenceEqualityComparer.Instance);
        return ModuleFields.Parameters(this).Where(p => !buffers.Contains(p.Parameter));
    }

    /// <summary>
    /// Every trainable tensor in this module and its children, named by path as PyTorch does:
    /// <c>0.weight</c>, <c>0.bias</c>, <c>2.weight</c>, ...
    /// </summary>
    /// <remarks>
    /// A tensor reached by more than one path (a layer used twice, or two layers tied to one weight) is listed once,
    /// under the first path that reaches it, as PyTorch's <c>named_parameters()</c> does: an optimizer built from
    /// this list steps a shared weight once, with the sum of its uses' gradients.
    /// </remarks>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters() =>
        Distinct(Walk(static m => m.OwnParameters()));

    /// <summary>
    /// This module's own non-trainable state (not its children's), e.g. BatchNorm's running mean and variance:
    /// saved in model files and checkpoints beside the parameters, never touched by an optimizer. By default, its
    /// tensor fields and properties marked <see cref="BufferAttribute"/>.
    /// </summary>
    protected virtual IEnumerable<(string Name, Tensor Buffer)> OwnBuffers() => ModuleFields.Buffers(this);

    /// <summary>
    /// Every non-trainable state tensor of this module and its children, named by path like parameters; a tensor
    /// reached by more than one path is listed once, under the first.
    /// </summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers() => Distinct(Walk(static m => m.OwnBuffers()));

    /// <summary>
    /// The random generators this module itself draws from while training (e.g. Dropout's mask generator), so a
    /// checkpoint can save their state and a resumed run continues the same random sequence. By default, its
    /// <see cref="Rng"/> fields and properties.
    /// </summary>
    protected virtual IEnumerable<(string Name, Rng Generator)> OwnGenerators() => ModuleFields.Generators(this);

    /// <summary>
    /// Every random generator of this module and its children, named by path (<c>3.generator</c>); a generator
    /// reached by more than one path is listed once, under the first.
    /// </summary>
    public IEnumerable<(string Name, Rng Generator)> NamedGenerators() => Distinct(Walk(static m => m.OwnGenerators()));

    /// <summary>
    /// Every item <paramref name="own"/> gives for this module and, depth first, for its children, named by path,
    /// duplicates included (a module used twice is walked twice).
    /// </summary>
    internal IEnumerable<(string Name, T Item)> Walk<T>(Func<Module, IEnumerable<(string Name, T Item)>> own)
    {
        foreach (var item in own(this)) yield return item;
        foreach (var (childName, child) in Children())
            foreach (var (name, item) in child.Walk(own))
                yield return ($"{childName}.{name}", item);
    }

    /// <summary>
    /// For every parameter or buffer reached by more than one path (a layer used twice, or tied weights), its paths
    /// in walk order, e.g. <c>["2.weight", "4.weight"]</c>; empty when nothing is shared.
    /// </summary>
    internal List<List<string>> SharedTensorPaths()
    {
        var paths = new Dictionary<Tensor, List<string>>(ReferenceEqualityComparer.Instance);
        foreach (var (name, t) in Walk(static m => m.OwnParameters()).Concat(Walk(static m => m.OwnBuffers())))
        {
            if (!paths.TryGetValue(t, out var list)) paths[t] = list = [];
            list.Add(name);
        }
        return [.. paths.Values.Where(p => p.Count > 1)];
    }

    // The first (name, item) for each item, by reference.
    private static IEnumerable<(string Name, T Item)> Distinct<T>(IEnumerable<(string Name, T Item)> items) where T : class
    {
        var seen = new HashSet<T>(ReferenceEqualityComparer.Instance);
        foreach (var item in items)
            if (seen.Add(item.Item)) yield return item;
    }

    /// <summary>Every trainable tensor, once each, in a stable order (what an optimizer takes).</summary>
    public IReadOnlyList<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter).ToList();

    /// <summary>The total number of trainable values (a shared tensor counts once).</summary>
    public int ParameterCount() => NamedParameters().Sum(p => p.Parameter.Size);

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in NamedParameters()) p.ZeroGrad();
    }

    /// <summary>
    /// The architecture as JSON (type name and constructor arguments, no weights): saved in model files and read
    /// back by <see cref="ModuleSpec.Create"/>. By default <c>{"type": name}</c> with the name the type was
    /// registered under (<see cref="ModuleSpec.Register{T}"/>), or else its class name; override it to record
    /// constructor arguments that the registered factory reads back.
    /// </summary>
    public virtual JsonObject ToSpec() => new() { ["type"] = ModuleSpec.NameOf(GetType()) };

    /// <summary>
    /// A one-line description, e.g. <c>Dense(4→8)</c>. By default the class name and its children, e.g.
    /// <c>TwoTower(left: Dense(4→8), right: Dense(3→8))</c>.
    /// </summary>
    public override string ToString()
    {
        var children = Children().Select(c => $"{c.Name}: {c.Module}").ToList();
        return children.Count == 0 ? GetType().Name : $"{GetType().Name}({string.Join(", ", children)})";
    }
}
