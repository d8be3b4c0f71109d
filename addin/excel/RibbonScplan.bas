Attribute VB_Name = "RibbonScplan"
' Supply Chain Planner ribbon callbacks (customUI.xml onAction -> Sub here).
' Each Sub runs one function of addin/ribbon.py through xlwings' RunPython, which is
' part of this add-in's "xlwings" module. Keep this file as the source of truth:
' "scplan addin build" imports it into the .xlam.
Option Explicit

Private Function HaveWorkbook() As Boolean
    HaveWorkbook = Not (ActiveWorkbook Is Nothing)
    If Not HaveWorkbook Then
        MsgBox "Open a planning workbook first, or create one with New.", _
               vbInformation, "Supply Chain Planner"
    End If
End Function

Private Sub EnsureWorkbook()
    ' RunPython needs an active workbook; New then opens the template beside it.
    If ActiveWorkbook Is Nothing Then Workbooks.Add
End Sub

Sub NewProductionDistribution(control As IRibbonControl)
    EnsureWorkbook
    RunPython "import addin.ribbon as r; r.new_workbook('production_distribution')"
End Sub

Sub NewMasterProduction(control As IRibbonControl)
    EnsureWorkbook
    RunPython "import addin.ribbon as r; r.new_workbook('master_production')"
End Sub

Sub NewDeliveryAllocation(control As IRibbonControl)
    EnsureWorkbook
    RunPython "import addin.ribbon as r; r.new_workbook('delivery_allocation')"
End Sub

Sub ValidateWorkbook(control As IRibbonControl)
    If Not HaveWorkbook() Then Exit Sub
    RunPython "import addin.ribbon as r; r.validate()"
End Sub

Sub SolveWorkbook(control As IRibbonControl)
    If Not HaveWorkbook() Then Exit Sub
    RunPython "import addin.ribbon as r; r.solve()"
End Sub

Sub RunScenarios(control As IRibbonControl)
    If Not HaveWorkbook() Then Exit Sub
    RunPython "import addin.ribbon as r; r.run_scenarios()"
End Sub

Sub ClearResults(control As IRibbonControl)
    If Not HaveWorkbook() Then Exit Sub
    RunPython "import addin.ribbon as r; r.clear_results()"
End Sub

Sub ShowHelp(control As IRibbonControl)
    EnsureWorkbook
    RunPython "import addin.ribbon as r; r.help()"
End Sub
